"""Anomaly detection over one metric's history: Deequ's strategies and Glue's default detector.

Everything here is a pure function of the values passed in: the caller loads a metric's history
(one :class:`Point` per earlier run, annotated ``included=False`` when a person marked it EXCLUDE)
and the current run's value, and gets back an :class:`Observation` shaped like Glue's
``MetricBasedObservation`` (actual, expected, lower and upper limit) — or ``None`` when there is
not enough history to judge. Nothing reads or writes a store, a clock or a random source, so the
same input always gives the same answer.

Two layers:

* **Strategies** (``STRATEGIES``) restate Deequ's ``anomalydetection`` package for one new point
  at a time: history points are the series before the search interval, the current point is the
  interval. Where Deequ's numbers are not in the metric's units (a change, a ratio) the limits are
  translated back into metric values so every observation reads the same way.
* :func:`detect_anomaly` is what ``DetectAnomalies`` uses: no verdict before three included
  points, a weekly-seasonal Holt-Winters forecast once two weekly cycles of roughly daily history
  exist, a mean ± 3σ band otherwise, never a band narrower than float noise.

Common rules: history is sorted by timestamp (stable, so runs with equal timestamps keep the
caller's order); a history point later than the current one, or a mix of naive and aware
timestamps, is an error; excluded points are dropped before anything is computed, so they never
train a model. The current point is scored whatever its own annotation says.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np

from oaklake.errors import InvalidInput

#: Glue scores a run only once this many earlier data points exist (EMR troubleshooting page).
MIN_HISTORY = 3
#: Band half-width, in residual or sample standard deviations, of the default detector. Deequ's
#: Holt-Winters uses 1.96 (≈5% of normal runs flagged); a gate that fails one run in twenty gets
#: switched off, so the default detector uses the same 3σ as Deequ's normal strategies.
DEFAULT_DEVIATION_FACTOR = 3.0
#: The smallest band the default detector draws, relative to the series' magnitude and absolute,
#: so that a constant history does not turn float noise (1000.0000000001 rows) into an anomaly.
MIN_BAND_RELATIVE = 1e-6
MIN_BAND_ABSOLUTE = 1e-9

_INF = math.inf


# ---------------------------------------------------------------------------------------------
# Data model


@dataclass(frozen=True, slots=True)
class Point:
    """One published value of a metric. ``included=False`` is Glue's EXCLUDE annotation."""

    timestamp: datetime
    value: float
    included: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.timestamp, datetime):
            raise InvalidInput(
                f"a metric point needs a datetime timestamp, got {type(self.timestamp).__name__}",
                hint="pass the run's evaluation time as a datetime.datetime",
            )
        object.__setattr__(self, "value", _finite(self.value, self.timestamp))
        if not isinstance(self.included, bool):
            raise InvalidInput(
                f"'included' must be True or False, got {self.included!r}",
                hint="True for INCLUDE (the default), False for an EXCLUDE annotation",
            )


@dataclass(frozen=True, slots=True)
class Observation:
    """The verdict on one value; the four numbers are Glue's MetricValues.

    ``lower <= expected <= upper`` always holds; limits may be infinite where a strategy leaves a
    side open. ``is_anomaly`` means ``actual`` fell outside the limits (for the change strategies,
    that the change or ratio fell outside its bounds — the limits are its translation to values).
    """

    metric: str
    timestamp: datetime
    actual: float
    expected: float
    lower: float
    upper: float
    is_anomaly: bool
    strategy: str
    message: str

    def metric_values(self) -> dict[str, float]:
        """The numbers under Glue's ``MetricBasedObservation.MetricValues`` names."""
        return {
            "ActualValue": self.actual,
            "ExpectedValue": self.expected,
            "LowerLimit": self.lower,
            "UpperLimit": self.upper,
        }


def _finite(value: Any, timestamp: datetime) -> float:
    where = f"metric value at {timestamp.isoformat()}"
    hint = "leave that run out of the history; a run without a number has nothing to score"
    if value is None:
        raise InvalidInput(f"{where} is missing (None)", hint=hint)
    if isinstance(value, bool) or not isinstance(
        value, int | float | Decimal | np.integer | np.floating
    ):
        raise InvalidInput(f"{where} is not a number: {value!r}", hint=hint)
    try:
        number = float(value)
    except OverflowError as e:
        raise InvalidInput(f"{where} is too large for a float: {value!r}", hint=hint) from e
    if math.isnan(number):
        raise InvalidInput(f"{where} is NaN", hint=hint)
    if math.isinf(number):
        raise InvalidInput(f"{where} is infinite", hint=hint)
    return number


def _training(history: Sequence[Point], current: Point) -> list[Point]:
    """History in time order without excluded points, after checking it precedes ``current``."""
    for p in (*history, current):
        if not isinstance(p, Point):
            raise InvalidInput(
                f"expected a Point, got {type(p).__name__}",
                hint="wrap each run as Point(timestamp, value, included)",
            )
    try:
        ordered = sorted(history, key=lambda p: p.timestamp)
        later = [p for p in ordered if p.timestamp > current.timestamp]
    except TypeError as e:
        raise InvalidInput(
            "metric history mixes timezone-aware and naive timestamps",
            hint="give every timestamp a timezone (UTC), or none",
        ) from e
    if later:
        raise InvalidInput(
            f"history has a point at {later[0].timestamp.isoformat()}, after the current point at "
            f"{current.timestamp.isoformat()}",
            hint="pass only earlier runs as history",
        )
    return [p for p in ordered if p.included]


def _observation(
    metric: str,
    current: Point,
    *,
    expected: float,
    lower: float,
    upper: float,
    is_anomaly: bool,
    strategy: str,
    message: str,
) -> Observation:
    lower, upper = float(lower), float(upper)
    # The expected value is clamped into the band: a change strategy whose band demands growth
    # (AbsoluteChange(+1, +5)) expects at least the smallest accepted value, not "no change".
    expected = min(max(float(expected), lower), upper)
    return Observation(
        metric=metric,
        timestamp=current.timestamp,
        actual=current.value,
        expected=expected,
        lower=lower,
        upper=upper,
        is_anomaly=bool(is_anomaly),
        strategy=strategy,
        message=message,
    )


def _verdict(is_anomaly: bool) -> str:
    return "is not in" if is_anomaly else "is in"


def _mean_std(values: Sequence[float], ddof: int) -> tuple[float, float]:
    """Mean and standard deviation, computed on values scaled by their largest magnitude.

    Scaling keeps sums of huge metrics (1e300) from overflowing; the standard deviation may still
    come back infinite when the spread itself exceeds float range, which only widens a band.
    """
    data = np.asarray(values, dtype=float)
    scale = float(np.max(np.abs(data))) if data.size else 0.0
    if scale == 0.0:
        return 0.0, 0.0
    scaled = data / scale
    mean = float(np.mean(scaled))
    std = float(np.std(scaled, ddof=ddof)) if data.size > ddof else 0.0
    return mean * scale, std * scale  # Python floats: an overflow is inf, not an error


def _check_factor(name: str, factor: float | None) -> None:
    if factor is None:
        return
    if isinstance(factor, bool) or not isinstance(factor, int | float) or math.isnan(factor):
        raise InvalidInput(f"{name} must be a number, got {factor!r}")
    if factor < 0:
        raise InvalidInput(
            f"{name} cannot be smaller than zero, got {factor!r}",
            hint="a deviation factor counts standard deviations away from the mean",
        )


def _check_limits(lo_name: str, lo: float | None, hi_name: str, hi: float | None) -> None:
    for name, value in ((lo_name, lo), (hi_name, hi)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value)
        ):
            raise InvalidInput(f"{name} must be a number or None, got {value!r}")
    if lo is None and hi is None:
        raise InvalidInput(
            f"at least one of {lo_name} and {hi_name} has to be given",
            hint="None leaves that side unbounded; both None would accept everything",
        )
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInput(
            f"{lo_name} ({lo!r}) is larger than {hi_name} ({hi!r})",
            hint=f"{lo_name} is the lower bound",
        )


def _check_order(order: int, minimum: int) -> None:
    if isinstance(order, bool) or not isinstance(order, int) or order < minimum:
        raise InvalidInput(
            f"order must be an integer >= {minimum}, got {order!r}",
            hint="order 1 compares each value with the one before it",
        )


# ---------------------------------------------------------------------------------------------
# Deequ's strategies


class AnomalyStrategy(ABC):
    """One of Deequ's detection rules, applied to the newest point of a series."""

    name: ClassVar[str]

    def detect(
        self, history: Sequence[Point], current: Point, *, metric: str = ""
    ) -> Observation | None:
        """Score ``current`` against the included points of ``history``; None = too little."""
        values = [p.value for p in _training(history, current)]
        return self._score(values, current, metric)

    @abstractmethod
    def _score(self, values: list[float], current: Point, metric: str) -> Observation | None: ...


@dataclass(frozen=True, kw_only=True)
class SimpleThresholdStrategy(AnomalyStrategy):
    """A fixed band; needs no history. ``expected`` is the nearest value inside the band."""

    name: ClassVar[str] = "SimpleThresholdStrategy"
    lower: float = -_INF
    upper: float

    def __post_init__(self) -> None:
        if self.lower is None or self.upper is None:
            raise InvalidInput(
                "SimpleThresholdStrategy needs numeric bounds",
                hint="leave lower out for -inf; upper is required",
            )
        _check_limits("lower", self.lower, "upper", self.upper)

    def _score(self, values: list[float], current: Point, metric: str) -> Observation | None:
        x = current.value
        anomaly = x < self.lower or x > self.upper
        return _observation(
            metric,
            current,
            expected=x,
            lower=self.lower,
            upper=self.upper,
            is_anomaly=anomaly,
            strategy=self.name,
            message=f"[{self.name}]: Value {x!r} {_verdict(anomaly)} bounds "
            f"[{float(self.lower)!r}, {float(self.upper)!r}].",
        )


@dataclass(frozen=True)
class AbsoluteChangeStrategy(AnomalyStrategy):
    """The ``order``-th difference of the series must lie in [max_rate_decrease, max_rate_increase].

    ``max_rate_decrease`` is usually negative (``-2.0`` = may drop by 2). ``None`` leaves a side
    open. Needs ``order`` included points of history; order 0 compares the value itself. The limits
    reported are the values whose change would sit exactly on a bound; ``expected`` is the value
    that would mean no change (for order 2: continuing the last slope).
    """

    name: ClassVar[str] = "AbsoluteChangeStrategy"
    max_rate_decrease: float | None = None
    max_rate_increase: float | None = None
    order: int = 1

    def __post_init__(self) -> None:
        _check_limits(
            "max_rate_decrease", self.max_rate_decrease, "max_rate_increase", self.max_rate_increase
        )
        _check_order(self.order, 0)

    def _score(self, values: list[float], current: Point, metric: str) -> Observation | None:
        k = self.order
        if len(values) < k:
            return None
        window = np.asarray([*values[len(values) - k :], current.value], dtype=float)
        change = float(np.diff(window, n=k)[0]) if k else current.value
        # x_n enters the k-th difference with coefficient +1, so "no change" is the rest negated.
        base = -sum((-1) ** j * math.comb(k, j) * window[k - j] for j in range(1, k + 1))
        dec = -_INF if self.max_rate_decrease is None else float(self.max_rate_decrease)
        inc = _INF if self.max_rate_increase is None else float(self.max_rate_increase)
        anomaly = change < dec or change > inc
        return _observation(
            metric,
            current,
            expected=base,
            lower=base + dec,
            upper=base + inc,
            is_anomaly=anomaly,
            strategy=self.name,
            message=f"[{self.name}]: Change of {change!r} {_verdict(anomaly)} bounds "
            f"[{dec!r}, {inc!r}]. Order={k}",
        )


class RateOfChangeStrategy(AbsoluteChangeStrategy):
    """Deequ's deprecated name for :class:`AbsoluteChangeStrategy`."""

    name: ClassVar[str] = "RateOfChangeStrategy"


def _ratio(x: float, base: float) -> float:
    """x / base as IEEE division gives it (Deequ's doubles): ±inf against 0, NaN for 0/0."""
    if base != 0:
        return x / base
    return math.copysign(_INF, x) if x != 0 else math.nan


@dataclass(frozen=True)
class RelativeRateOfChangeStrategy(AnomalyStrategy):
    """The ratio ``x_n / x_(n-order)`` must lie in [max_rate_decrease, max_rate_increase].

    As in Deequ the ratio is taken against the value ``order`` steps back (not iterated). Against a
    zero the ratio is ±infinity (flagged where that side is bounded) or, for 0/0, undefined (never
    flagged). The limits reported are the values at each bound (for a negative base the two swap);
    ``expected`` is the base value, i.e. ratio 1.
    """

    name: ClassVar[str] = "RelativeRateOfChangeStrategy"
    max_rate_decrease: float | None = None
    max_rate_increase: float | None = None
    order: int = 1

    def __post_init__(self) -> None:
        _check_limits(
            "max_rate_decrease", self.max_rate_decrease, "max_rate_increase", self.max_rate_increase
        )
        _check_order(self.order, 1)

    def _score(self, values: list[float], current: Point, metric: str) -> Observation | None:
        if len(values) < self.order:
            return None
        base = values[-self.order]
        x = current.value
        dec, inc = self.max_rate_decrease, self.max_rate_increase
        ratio = _ratio(x, base)
        anomaly = (dec is not None and ratio < dec) or (inc is not None and ratio > inc)
        if base > 0:
            lower = -_INF if dec is None else dec * base
            upper = _INF if inc is None else inc * base
        elif base < 0:
            lower = -_INF if inc is None else inc * base
            upper = _INF if dec is None else dec * base
        else:
            lower = -_INF if dec is None else 0.0
            upper = _INF if inc is None else 0.0
        lo_text = "-inf" if dec is None else repr(float(dec))
        hi_text = "inf" if inc is None else repr(float(inc))
        return _observation(
            metric,
            current,
            expected=base,
            lower=lower,
            upper=upper,
            is_anomaly=anomaly,
            strategy=self.name,
            message=f"[{self.name}]: Rate of change {ratio!r} {_verdict(anomaly)} bounds "
            f"[{lo_text}, {hi_text}]. Order={self.order}",
        )


@dataclass(frozen=True)
class OnlineNormalStrategy(AnomalyStrategy):
    """Running mean ± factor·σ (population σ), replayed over history and then the current point.

    As in Deequ the point being scored is folded into the running mean and σ before its own bounds
    are drawn, and the first ``ignore_start_percentage`` of the series (history + current) is never
    flagged. History is replayed as if each point had been scored on arrival, so with
    ``ignore_anomalies`` a past outlier does not inflate the running σ (Deequ's AnomalyDetector
    never flags history, which would make that flag do nothing here). ``None`` for a factor leaves
    that side open (Deequ multiplies Double.MaxValue by σ, which closes it again when σ is 0).
    Returns None with no included history, or when the current point falls in the ignored start.
    """

    name: ClassVar[str] = "OnlineNormalStrategy"
    lower_deviation_factor: float | None = 3.0
    upper_deviation_factor: float | None = 3.0
    ignore_start_percentage: float = 0.1
    ignore_anomalies: bool = True

    def __post_init__(self) -> None:
        if self.lower_deviation_factor is None and self.upper_deviation_factor is None:
            raise InvalidInput(
                "at least one of lower_deviation_factor and upper_deviation_factor has to be given"
            )
        _check_factor("lower_deviation_factor", self.lower_deviation_factor)
        _check_factor("upper_deviation_factor", self.upper_deviation_factor)
        pct = self.ignore_start_percentage
        if isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 <= pct <= 1:
            raise InvalidInput(
                f"ignore_start_percentage must be in [0, 1], got {pct!r}",
                hint="0.1 ignores the first tenth of the series",
            )

    def _bounds(self, mean: float, std: float) -> tuple[float, float]:
        lo = self.lower_deviation_factor
        hi = self.upper_deviation_factor
        return (
            -_INF if lo is None else mean - lo * std,
            _INF if hi is None else mean + hi * std,
        )

    def _score(self, values: list[float], current: Point, metric: str) -> Observation | None:
        if not values:
            return None
        series = [*values, current.value]
        skip = len(series) * self.ignore_start_percentage
        mean = sn = 0.0
        lower = upper = 0.0
        anomaly = False
        for i, x in enumerate(series):
            last_mean, last_sn = mean, sn
            mean = x if i == 0 else last_mean + (x - last_mean) / (i + 1)
            sn += (x - last_mean) * (x - mean)
            std = math.sqrt(max(sn, 0.0) / (i + 1))
            lower, upper = self._bounds(mean, std)
            anomaly = i >= skip and (x < lower or x > upper)
            if anomaly and self.ignore_anomalies and i < len(series) - 1:
                mean, sn = last_mean, last_sn
        if len(series) - 1 < skip:
            return None
        x = current.value
        return _observation(
            metric,
            current,
            expected=mean,
            lower=lower,
            upper=upper,
            is_anomaly=anomaly,
            strategy=self.name,
            message=f"[{self.name}]: Value {x!r} {_verdict(anomaly)} bounds "
            f"[{lower!r}, {upper!r}].",
        )


@dataclass(frozen=True)
class BatchNormalStrategy(AnomalyStrategy):
    """Mean ± factor·σ of the history (sample σ); ``include_interval`` adds the current point.

    Returns None when fewer than two values feed the mean and σ. A constant history gives σ = 0 and
    a zero-width band, exactly as in Deequ (the default detector adds a minimum band).
    """

    name: ClassVar[str] = "BatchNormalStrategy"
    lower_deviation_factor: float | None = 3.0
    upper_deviation_factor: float | None = 3.0
    include_interval: bool = False

    def __post_init__(self) -> None:
        if self.lower_deviation_factor is None and self.upper_deviation_factor is None:
            raise InvalidInput(
                "at least one of lower_deviation_factor and upper_deviation_factor has to be given"
            )
        _check_factor("lower_deviation_factor", self.lower_deviation_factor)
        _check_factor("upper_deviation_factor", self.upper_deviation_factor)

    def _score(self, values: list[float], current: Point, metric: str) -> Observation | None:
        data = [*values, current.value] if self.include_interval else values
        if len(data) < 2:
            return None
        mean, std = _mean_std(data, ddof=1)
        lo, hi = self.lower_deviation_factor, self.upper_deviation_factor
        lower = -_INF if lo is None else mean - lo * std
        upper = _INF if hi is None else mean + hi * std
        x = current.value
        anomaly = x < lower or x > upper
        return _observation(
            metric,
            current,
            expected=mean,
            lower=lower,
            upper=upper,
            is_anomaly=anomaly,
            strategy=self.name,
            message=f"[{self.name}]: Value {x!r} {_verdict(anomaly)} bounds "
            f"[{lower!r}, {upper!r}].",
        )


# ---------------------------------------------------------------------------------------------
# Holt-Winters


@dataclass(frozen=True)
class HoltWintersFit:
    """Additive Holt-Winters fitted to a regularly spaced series; states are after the last value.

    ``sigma`` is the sample standard deviation of the one-step-ahead residuals from the second
    cycle on (the first cycle initialises the states, so it has no honest residuals).
    """

    period: int
    n: int
    alpha: float
    beta: float
    gamma: float
    level: float
    trend: float
    season: tuple[float, ...]
    sigma: float
    sse: float

    def forecast(self, steps: int = 1) -> float:
        """The value expected ``steps`` positions after the last one fitted."""
        if steps < 1:
            raise InvalidInput(f"steps must be >= 1, got {steps}")
        position = self.n - 1 + steps
        return self.level + steps * self.trend + self.season[position % self.period]


def _hw_pass(
    z: list[float], m: int, alpha: float, beta: float, gamma: float, residuals: list[float] | None
) -> tuple[float, float, float, list[float]]:
    """One pass of the recursions; returns SSE, final level, trend and seasonal states."""
    first = sum(z[:m]) / m
    level = first
    trend = (sum(z[m : 2 * m]) / m - first) / m
    season = [v - first for v in z[:m]]
    sse = 0.0
    a1, b1, g1 = 1.0 - alpha, 1.0 - beta, 1.0 - gamma
    for t in range(m, len(z)):
        j = t % m
        y = z[t]
        s = season[j]
        err = y - (level + trend + s)
        sse += err * err
        if residuals is not None:
            residuals.append(err)
        new_level = alpha * (y - s) + a1 * (level + trend)
        season[j] = gamma * (y - level - trend) + g1 * s
        trend = beta * (new_level - level) + b1 * trend
        level = new_level
    return sse, level, trend, season


def _hw_sse_gradient(
    z: list[float], m: int, alpha: float, beta: float, gamma: float
) -> tuple[float, np.ndarray]:
    """SSE of :func:`_hw_pass` and its exact gradient in (α, β, γ), by forward differentiation.

    Each state carries its derivative along the recursions; the initial states do not depend on
    the parameters. Three times the work of one pass, but L-BFGS-B then needs about a quarter of
    the passes that finite differences cost — what keeps a year of daily points well under 100 ms.
    """
    first = sum(z[:m]) / m
    level = first
    trend = (sum(z[m : 2 * m]) / m - first) / m
    season = [v - first for v in z[:m]]
    # d(state)/d(alpha, beta, gamma), unrolled into scalars for speed.
    la = lb = lg = 0.0
    ta = tb = tg = 0.0
    sa = [0.0] * m
    sb = [0.0] * m
    sg = [0.0] * m
    sse = ga = gb = gg = 0.0
    a1, b1, g1 = 1.0 - alpha, 1.0 - beta, 1.0 - gamma
    for t in range(m, len(z)):
        j = t % m
        y = z[t]
        s = season[j]
        ja, jb, jg = sa[j], sb[j], sg[j]
        lt = level + trend
        err = y - lt - s
        sse += err * err
        w = -2.0 * err
        ga += w * (la + ta + ja)
        gb += w * (lb + tb + jb)
        gg += w * (lg + tg + jg)
        new_level = alpha * (y - s) + a1 * lt
        nla = (y - s) - lt - alpha * ja + a1 * (la + ta)
        nlb = -alpha * jb + a1 * (lb + tb)
        nlg = -alpha * jg + a1 * (lg + tg)
        season[j] = gamma * (y - lt) + g1 * s
        sa[j] = -gamma * (la + ta) + g1 * ja
        sb[j] = -gamma * (lb + tb) + g1 * jb
        sg[j] = (y - lt) - s - gamma * (lg + tg) + g1 * jg
        step = new_level - level
        new_trend = beta * step + b1 * trend
        ta, tb, tg = (
            beta * (nla - la) + b1 * ta,
            step - trend + beta * (nlb - lb) + b1 * tb,
            beta * (nlg - lg) + b1 * tg,
        )
        level, trend = new_level, new_trend
        la, lb, lg = nla, nlb, nlg
    return sse, np.array([ga, gb, gg])


def fit_holt_winters(values: Sequence[float], period: int) -> HoltWintersFit:
    """Fit additive triple exponential smoothing, choosing α, β, γ in [0, 1] by least squares.

    Initial states follow the classical recipe: level = mean of the first cycle, trend = difference
    of the first two cycle means per step, seasonal = first cycle minus its mean; the recursions
    run from the second cycle on. The series is standardised before fitting so that the optimiser's
    tolerances mean the same for row counts of 10⁹ and ratios near 1; α, β, γ start at Deequ's
    (0.3, 0.1, 0.1) and are fitted with L-BFGS-B on the exact gradient, deterministically.
    Needs at least two full cycles.
    """
    if isinstance(period, bool) or not isinstance(period, int) or period < 2:
        raise InvalidInput(
            f"period must be an integer >= 2, got {period!r}",
            hint="7 for daily values with weekly seasonality, 24 for hourly with daily",
        )
    y = np.asarray(values, dtype=float)
    if y.size < 2 * period:
        raise InvalidInput(
            f"Holt-Winters needs two full cycles ({2 * period} values), got {y.size}",
            hint="collect more history, or use a non-seasonal strategy",
        )
    if not np.all(np.isfinite(y)):
        raise InvalidInput("Holt-Winters needs finite values")
    scale = float(np.max(np.abs(y)))
    u = y / scale if scale > 0 else y
    centre = float(np.mean(u))
    spread = float(np.std(u))
    if spread == 0.0:
        spread = 1.0
    z = ((u - centre) / spread).tolist()

    def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
        a, b, g = (float(v) for v in params)
        return _hw_sse_gradient(z, period, a, b, g)

    from scipy.optimize import minimize  # scipy's import costs ~0.2 s; only fitting needs it

    result = minimize(
        objective,
        np.array([0.3, 0.1, 0.1]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * 3,
    )
    alpha, beta, gamma = (float(min(max(v, 0.0), 1.0)) for v in result.x)
    residuals: list[float] = []
    sse, level, trend, season = _hw_pass(z, period, alpha, beta, gamma, residuals)
    sigma_z = float(np.std(residuals, ddof=1)) if len(residuals) > 1 else 0.0
    factor = scale if scale > 0 else 1.0

    def unscale(v: float) -> float:
        return v * spread * factor  # in this order, so 0 stays 0 even if spread·factor overflows

    return HoltWintersFit(
        period=period,
        n=int(y.size),
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        level=(centre + spread * level) * factor,
        trend=unscale(trend),
        season=tuple(unscale(s) for s in season),
        sigma=unscale(sigma_z),
        sse=unscale(unscale(sse)),
    )


@dataclass(frozen=True)
class HoltWinters(AnomalyStrategy):
    """Deequ's seasonal strategy: flag when |x − forecast| > ``deviation_factor``·σ(residuals).

    Included history is taken as a regularly spaced series (one value per ``period``-th of a cycle:
    7 for daily values with weekly seasonality, 12 for monthly with yearly); spacing is the caller's
    job (:func:`detect_anomaly` buckets by day). Needs two full cycles, else None. Deequ's code
    takes σ of the *absolute* residuals, which narrows its band to ≈0.6 of what its docs describe;
    we take σ of the residuals as the spec says.
    """

    name: ClassVar[str] = "HoltWinters"
    period: int = 7
    deviation_factor: float = 1.96

    def __post_init__(self) -> None:
        if isinstance(self.period, bool) or not isinstance(self.period, int) or self.period < 2:
            raise InvalidInput(
                f"period must be an integer >= 2, got {self.period!r}",
                hint="7 for daily values with weekly seasonality",
            )
        _check_factor("deviation_factor", self.deviation_factor)

    def _score(self, values: list[float], current: Point, metric: str) -> Observation | None:
        if len(values) < 2 * self.period:
            return None
        fit = fit_holt_winters(values, self.period)
        forecast = fit.forecast(1)
        half = self.deviation_factor * fit.sigma
        lower, upper = forecast - half, forecast + half
        x = current.value
        anomaly = x < lower or x > upper
        return _observation(
            metric,
            current,
            expected=forecast,
            lower=lower,
            upper=upper,
            is_anomaly=anomaly,
            strategy=self.name,
            message=f"[{self.name}]: Forecasted {forecast!r} for observed value {x!r}; "
            f"{'outside' if anomaly else 'within'} ±{half!r} "
            f"({self.deviation_factor}σ of residuals).",
        )


#: Every strategy by the name Deequ gives it.
STRATEGIES: dict[str, type[AnomalyStrategy]] = {
    cls.name: cls
    for cls in (
        SimpleThresholdStrategy,
        AbsoluteChangeStrategy,
        RateOfChangeStrategy,
        RelativeRateOfChangeStrategy,
        OnlineNormalStrategy,
        BatchNormalStrategy,
        HoltWinters,
    )
}


# ---------------------------------------------------------------------------------------------
# The default detector


def _min_band(expected: float, values: Sequence[float]) -> float:
    magnitude = max(abs(expected), *(abs(v) for v in values))
    return max(MIN_BAND_RELATIVE * magnitude, MIN_BAND_ABSOLUTE)


def _regular_series(
    points: Sequence[Point], current: Point, period: int, interval: timedelta
) -> tuple[list[float], int] | None:
    """The trailing, regularly spaced stretch of history as (values, steps to current), or None.

    Each point is placed ``round(age / interval)`` buckets before the current one; anchoring on the
    current run (not on calendar midnight) keeps a job that runs at 23:50 one day and 00:10 the
    next in separate buckets. Runs sharing a bucket: the latest wins (a re-run replaces the day);
    runs in the current point's own bucket are left out (that bucket is what is forecast).
    The stretch ends, going back, at the first gap of more than ``max(1, period // 3)`` empty
    buckets (2 days for weekly seasonality); shorter gaps inside it are filled by linear
    interpolation between their neighbours. It is used only if it spans
    two full cycles, at most a fifth of its buckets are filled in, and the current point is at
    most one cycle after its last bucket.
    """
    half = interval / 2
    buckets: dict[int, float] = {}
    for p in points:  # in time order, so a later run in the same bucket overwrites
        k = (current.timestamp - p.timestamp + half) // interval
        if k >= 1:
            buckets[k] = p.value
    if not buckets:
        return None
    ages = sorted(buckets)
    steps = ages[0]
    if steps > period:
        return None
    max_gap = max(1, period // 3)
    stretch = [ages[0]]
    for k in ages[1:]:
        if k - stretch[-1] - 1 > max_gap:
            break
        stretch.append(k)
    oldest, newest = stretch[-1], stretch[0]
    span = oldest - newest + 1
    if span < 2 * period or (span - len(stretch)) * 5 > span:
        return None
    known_x = [-k for k in reversed(stretch)]
    known_y = [buckets[k] for k in reversed(stretch)]
    grid = np.arange(-oldest, -newest + 1, dtype=float)
    return np.interp(grid, known_x, known_y).tolist(), steps


def detect_anomaly(
    history: Sequence[Point],
    current: Point,
    *,
    period: int = 7,
    metric: str = "",
    interval: timedelta = timedelta(days=1),
) -> Observation | None:
    """Glue-style ``DetectAnomalies``: score ``current`` against the included history.

    * Fewer than :data:`MIN_HISTORY` (3) included points: None, as Glue publishes no verdict.
    * History regular enough to hold two full cycles (see :func:`_regular_series`; one bucket per
      ``interval``, ``period`` buckets a cycle — daily with weekly seasonality by default): the
      Holt-Winters forecast for the current bucket ± :data:`DEFAULT_DEVIATION_FACTOR`·σ of its
      one-step residuals (σ is not widened when the current run is several buckets ahead).
    * Otherwise: mean ± :data:`DEFAULT_DEVIATION_FACTOR`·σ (sample) of every included point.

    Either band is at least ``MIN_BAND_RELATIVE``·magnitude (and ``MIN_BAND_ABSOLUTE``) wide on
    each side, magnitude being the largest |value| among the expected and the history — so a
    perfectly constant history accepts float noise but flags any real change.
    """
    if isinstance(period, bool) or not isinstance(period, int) or period < 2:
        raise InvalidInput(
            f"period must be an integer >= 2, got {period!r}",
            hint="7 for daily runs with weekly seasonality",
        )
    if not isinstance(interval, timedelta) or interval <= timedelta(0):
        raise InvalidInput(f"interval must be a positive timedelta, got {interval!r}")
    points = _training(history, current)
    if len(points) < MIN_HISTORY:
        return None
    values = [p.value for p in points]
    factor = DEFAULT_DEVIATION_FACTOR
    x = current.value

    regular = _regular_series(points, current, period, interval)
    if regular is not None:
        series, steps = regular
        fit = fit_holt_winters(series, period)
        forecast = fit.forecast(steps)
        if math.isfinite(forecast):
            half = max(factor * fit.sigma, _min_band(forecast, series))
            lower, upper = forecast - half, forecast + half
            anomaly = x < lower or x > upper
            return _observation(
                metric,
                current,
                expected=forecast,
                lower=lower,
                upper=upper,
                is_anomaly=anomaly,
                strategy=HoltWinters.name,
                message=f"[{HoltWinters.name}]: Value {x!r} {_verdict(anomaly)} bounds "
                f"[{lower!r}, {upper!r}]: forecast {forecast!r} ± {factor}σ of residuals "
                f"(period {period}, {len(series)} buckets of history).",
            )

    mean, std = _mean_std(values, ddof=1)
    half = max(factor * std, _min_band(mean, values))
    lower, upper = mean - half, mean + half
    anomaly = x < lower or x > upper
    return _observation(
        metric,
        current,
        expected=mean,
        lower=lower,
        upper=upper,
        is_anomaly=anomaly,
        strategy=BatchNormalStrategy.name,
        message=f"[{BatchNormalStrategy.name}]: Value {x!r} {_verdict(anomaly)} bounds "
        f"[{lower!r}, {upper!r}]: mean ± {factor}σ of {len(values)} points "
        f"(not enough regular history for a period-{period} seasonal model).",
    )
