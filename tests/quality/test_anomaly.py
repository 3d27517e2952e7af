"""Anomaly detection: Deequ's strategies on hand-computed series, and the default detector."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import approx_fprime

from oaklake.errors import InvalidInput
from oaklake.quality import anomaly
from oaklake.quality.anomaly import (
    MIN_HISTORY,
    STRATEGIES,
    AbsoluteChangeStrategy,
    AnomalyStrategy,
    BatchNormalStrategy,
    HoltWinters,
    Observation,
    OnlineNormalStrategy,
    Point,
    RateOfChangeStrategy,
    RelativeRateOfChangeStrategy,
    SimpleThresholdStrategy,
    detect_anomaly,
    fit_holt_winters,
)

MONDAY = datetime(2024, 1, 1)  # a Monday: day i of a series is weekday i % 7
DAY = timedelta(days=1)


def series(values: list[float], *, start: datetime = MONDAY, step: timedelta = DAY) -> list[Point]:
    return [Point(start + i * step, v) for i, v in enumerate(values)]


def next_point(history: list[Point], value: float, step: timedelta = DAY) -> Point:
    return Point(history[-1].timestamp + step if history else MONDAY, value)


def scored(obs: Observation | None) -> Observation:
    assert obs is not None, "expected a verdict, got None (not enough history)"
    return obs


def flagged(strategy: AnomalyStrategy, values: list[float]) -> list[int]:
    """Deequ's whole-series detect, as one call per point with the earlier points as history."""
    points = series(values)
    out = []
    for i, p in enumerate(points):
        obs = strategy.detect(points[:i], p)
        if obs is not None and obs.is_anomaly:
            out.append(i)
    return out


def deequ_change_series() -> list[float]:
    """Deequ's change-strategy test data: 1.0, then ±i alternating for i in 20..30, then 1.0."""
    return [1.0 if i < 20 or i > 30 else (float(i) if i % 2 == 0 else -float(i)) for i in range(51)]


def deequ_ratio_series() -> list[float]:
    return [1.0 if i < 20 or i > 30 else (float(i) if i % 2 == 0 else 1.0) for i in range(51)]


def assert_consistent(obs: Observation) -> None:
    assert obs.lower <= obs.expected <= obs.upper
    assert obs.is_anomaly == (obs.actual < obs.lower or obs.actual > obs.upper)


# --- data model --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "missing"),
        (float("nan"), "NaN"),
        (float("inf"), "infinite"),
        (-float("inf"), "infinite"),
        ("12", "not a number"),
        (True, "not a number"),
        (complex(1, 2), "not a number"),
        (10**400, "too large"),
    ],
)
def test_point_rejects_values_that_cannot_be_scored(value: object, says: str) -> None:
    with pytest.raises(InvalidInput) as e:
        Point(MONDAY, value)  # type: ignore[arg-type]
    assert says in e.value.message
    assert "2024-01-01T00:00:00" in e.value.message  # says which run
    assert e.value.code == "INVALID_INPUT"
    assert e.value.hint


@pytest.mark.parametrize("value", [3, Decimal("3"), np.float64(3.0), np.int64(3)])
def test_point_takes_any_real_number_as_float(value: object) -> None:
    p = Point(MONDAY, value)  # type: ignore[arg-type]
    assert p.value == 3.0
    assert type(p.value) is float


def test_point_needs_a_datetime_and_a_bool_annotation() -> None:
    with pytest.raises(InvalidInput, match="datetime"):
        Point("2024-01-01", 1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="included"):
        Point(MONDAY, 1.0, "EXCLUDE")  # type: ignore[arg-type]


def test_history_after_the_current_point_is_an_error() -> None:
    history = series([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InvalidInput, match="after the current point"):
        detect_anomaly(history, Point(MONDAY + DAY, 5.0))


def test_mixed_naive_and_aware_timestamps_are_an_error() -> None:
    history = [*series([1.0, 2.0]), Point(datetime(2024, 1, 3, tzinfo=UTC), 3.0)]
    with pytest.raises(InvalidInput, match="timezone"):
        detect_anomaly(history, Point(datetime(2024, 1, 4, tzinfo=UTC), 4.0))


def test_history_is_sorted_by_time_before_use() -> None:
    history = series([10.0, 20.0, 30.0])
    current = next_point(history, 30.0)
    strategy = AbsoluteChangeStrategy(-1.0, 1.0)
    # Shuffled, the last run is still the one at the latest time (30 → 30: no change).
    shuffled = strategy.detect([history[2], history[0], history[1]], current)
    assert shuffled == strategy.detect(history, current)
    assert shuffled is not None and shuffled.expected == 30.0


def test_observation_exposes_glue_metric_values() -> None:
    obs = SimpleThresholdStrategy(upper=1.0).detect([], Point(MONDAY, 2.0), metric="RowCount")
    assert obs is not None
    assert obs.metric == "RowCount"
    assert obs.metric_values() == {
        "ActualValue": 2.0,
        "ExpectedValue": 1.0,
        "LowerLimit": -math.inf,
        "UpperLimit": 1.0,
    }


def test_registry_names_every_strategy_by_its_deequ_name() -> None:
    assert set(STRATEGIES) == {
        "SimpleThresholdStrategy",
        "AbsoluteChangeStrategy",
        "RateOfChangeStrategy",
        "RelativeRateOfChangeStrategy",
        "OnlineNormalStrategy",
        "BatchNormalStrategy",
        "HoltWinters",
    }
    for name, cls in STRATEGIES.items():
        assert cls.name == name
        assert issubclass(cls, AnomalyStrategy)
    # Deequ's deprecated alias behaves like absolute change.
    assert flagged(RateOfChangeStrategy(-2.0, 2.0), deequ_change_series()) == list(range(20, 32))


# --- SimpleThresholdStrategy ---------------------------------------------------------------------


def test_simple_threshold_deequ_examples() -> None:
    data = [-1.0, 2.0, 3.0, 0.5]
    assert flagged(SimpleThresholdStrategy(upper=1.0), data) == [1, 2]
    assert flagged(SimpleThresholdStrategy(lower=-0.5, upper=1.0), data) == [0, 1, 2]


def test_simple_threshold_needs_no_history_and_expects_the_nearest_accepted_value() -> None:
    strategy = SimpleThresholdStrategy(lower=0.0, upper=10.0)
    inside = strategy.detect([], Point(MONDAY, 4.0))
    above = strategy.detect([], Point(MONDAY, 12.0))
    assert inside is not None and above is not None
    assert (inside.expected, inside.lower, inside.upper, inside.is_anomaly) == (4.0, 0, 10, False)
    assert (above.expected, above.is_anomaly) == (10.0, True)
    assert "Value 12.0 is not in bounds [0.0, 10.0]" in above.message
    # Bounds are inclusive, as in Deequ.
    edge = strategy.detect([], Point(MONDAY, 10.0))
    assert edge is not None and not edge.is_anomaly


def test_simple_threshold_rejects_unordered_bounds() -> None:
    with pytest.raises(InvalidInput, match="larger than"):
        SimpleThresholdStrategy(lower=2.0, upper=1.0)


# --- AbsoluteChangeStrategy ----------------------------------------------------------------------


def test_absolute_change_deequ_examples() -> None:
    data = deequ_change_series()
    assert flagged(AbsoluteChangeStrategy(-2.0, 2.0), data) == list(range(20, 32))
    assert flagged(AbsoluteChangeStrategy(None, 1.0), data) == list(range(20, 31, 2))
    assert flagged(AbsoluteChangeStrategy(-1.0, None), data) == list(range(21, 32, 2))
    big = 1.7976931348623157e308
    assert flagged(AbsoluteChangeStrategy(-big, big), data) == []


def test_absolute_change_higher_orders_deequ_examples() -> None:
    data = [0.0, 1.0, 3.0, 6.0, 18.0, 72.0]
    # Second differences: 1, 1, 9, 42 at indices 2..5.
    assert flagged(AbsoluteChangeStrategy(None, 8.0, order=2), data) == [4, 5]
    # Order 0 is the threshold strategy on the values themselves.
    assert flagged(AbsoluteChangeStrategy(-2.0, 2.0, order=0), [1.0, -1.0, 4.0, -7.0]) == [2, 3]


def test_absolute_change_limits_in_metric_units() -> None:
    obs = AbsoluteChangeStrategy(-2.0, 2.0).detect(series([7.0, 10.0]), Point(MONDAY + 2 * DAY, 15))
    assert obs is not None
    assert (obs.expected, obs.lower, obs.upper, obs.is_anomaly) == (10.0, 8.0, 12.0, True)
    assert "Change of 5.0 is not in bounds [-2.0, 2.0]. Order=1" in obs.message
    # Order 2 expects the last slope to continue: 2·18 − 6 = 30, so at most 38 under +8.
    history = series([0.0, 1.0, 3.0, 6.0, 18.0])
    obs2 = AbsoluteChangeStrategy(None, 8.0, order=2).detect(history, next_point(history, 72.0))
    assert obs2 is not None
    assert (obs2.expected, obs2.lower, obs2.upper, obs2.is_anomaly) == (30.0, -math.inf, 38, True)


def test_absolute_change_band_that_demands_growth_clamps_expected() -> None:
    obs = AbsoluteChangeStrategy(1.0, 5.0).detect(series([10.0]), Point(MONDAY + DAY, 12.0))
    assert obs is not None
    assert (obs.expected, obs.lower, obs.upper, obs.is_anomaly) == (11.0, 11.0, 15.0, False)


def test_absolute_change_needs_order_points_of_history() -> None:
    strategy = AbsoluteChangeStrategy(-1.0, 1.0, order=2)
    assert strategy.detect(series([1.0]), Point(MONDAY + DAY, 5.0)) is None
    assert strategy.detect(series([1.0, 1.0]), Point(MONDAY + 2 * DAY, 5.0)) is not None


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((None, None), "at least one"),
        ((-2.0, -3.0), "larger than"),
        ((-1.0, 1.0, -1), "order"),
        ((float("nan"), 1.0), "number"),
    ],
)
def test_absolute_change_rejects_bad_parameters(args: tuple[object, ...], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        AbsoluteChangeStrategy(*args)  # type: ignore[arg-type]


# --- RelativeRateOfChangeStrategy ----------------------------------------------------------------


def test_relative_rate_deequ_examples() -> None:
    data = deequ_ratio_series()
    assert flagged(RelativeRateOfChangeStrategy(0.5, 2.0), data) == list(range(20, 32))
    assert flagged(RelativeRateOfChangeStrategy(None, 1.0), data) == list(range(20, 31, 2))
    assert flagged(RelativeRateOfChangeStrategy(0.5, None), data) == list(range(21, 32, 2))


def test_relative_rate_order_two_compares_with_the_value_two_back() -> None:
    # Ratios x[i]/x[i-2]: 3/0 = inf, 6/1, 18/3, 72/6 = 12 (Deequ's example).
    data = [0.0, 1.0, 3.0, 6.0, 18.0, 72.0]
    assert flagged(RelativeRateOfChangeStrategy(None, 8.0, order=2), data) == [2, 5]


def test_relative_rate_limits_in_metric_units() -> None:
    obs = RelativeRateOfChangeStrategy(0.9, 1.1).detect(series([100.0]), Point(MONDAY + DAY, 115))
    assert obs is not None
    assert (obs.expected, obs.is_anomaly) == (100.0, True)
    assert obs.lower == pytest.approx(90.0) and obs.upper == pytest.approx(110.0)
    # A negative base swaps which bound limits which side.
    neg = RelativeRateOfChangeStrategy(0.9, 1.1).detect(series([-10.0]), Point(MONDAY + DAY, -12))
    assert neg is not None and neg.is_anomaly  # ratio 1.2
    assert neg.lower == pytest.approx(-11.0) and neg.upper == pytest.approx(-9.0)
    assert neg.expected == -10.0


def test_relative_rate_against_zero() -> None:
    strategy = RelativeRateOfChangeStrategy(0.5, 2.0)
    zero = series([0.0])
    same = strategy.detect(zero, Point(MONDAY + DAY, 0.0))  # 0/0: undefined, never flagged
    up = strategy.detect(zero, Point(MONDAY + DAY, 1.0))  # +inf
    assert same is not None and up is not None
    assert not same.is_anomaly and up.is_anomaly
    assert (same.lower, same.upper) == (0.0, 0.0)
    # With the upper side open, growth from zero is accepted.
    open_up = RelativeRateOfChangeStrategy(0.5, None).detect(zero, Point(MONDAY + DAY, 1.0))
    assert open_up is not None and not open_up.is_anomaly


def test_relative_rate_rejects_order_zero() -> None:
    with pytest.raises(InvalidInput, match="order"):
        RelativeRateOfChangeStrategy(0.9, 1.1, order=0)


# --- OnlineNormalStrategy ------------------------------------------------------------------------


def test_online_normal_ignores_a_past_anomaly_deequ_example() -> None:
    # Deequ: [1, 1, 1, 2, 1, 1, 1] with factors 1.5 and 20% warm-up ends at mean 1, σ 0 — the 2 was
    # flagged on arrival and kept out of the running statistics.
    strategy = OnlineNormalStrategy(1.5, 1.5, ignore_start_percentage=0.2)
    history = series([1.0, 1.0, 1.0, 2.0, 1.0, 1.0])
    obs = strategy.detect(history, next_point(history, 1.0))
    assert obs is not None
    assert (obs.expected, obs.lower, obs.upper, obs.is_anomaly) == (1.0, 1.0, 1.0, False)


def test_online_normal_keeps_anomalies_when_asked() -> None:
    strategy = OnlineNormalStrategy(1.5, 1.5, ignore_start_percentage=0.2, ignore_anomalies=False)
    history = series([1.0, 1.0, 1.0, 2.0, 1.0, 1.0])
    obs = strategy.detect(history, next_point(history, 1.0))
    assert obs is not None
    # Population statistics of six 1s and one 2: mean 8/7, variance 6/49.
    sd = math.sqrt(6) / 7
    assert obs.expected == pytest.approx(8 / 7)
    assert obs.lower == pytest.approx(8 / 7 - 1.5 * sd)
    assert obs.upper == pytest.approx(8 / 7 + 1.5 * sd)
    assert not obs.is_anomaly


def test_online_normal_folds_the_current_point_into_its_own_bounds() -> None:
    history = series([1.0, 2.0, 3.0])
    keep = OnlineNormalStrategy(1.0, 1.0, ignore_start_percentage=0.0, ignore_anomalies=False)
    obs = keep.detect(history, next_point(history, 10.0))
    assert obs is not None
    # [1, 2, 3, 10]: mean 4, population variance 50/4.
    assert obs.expected == pytest.approx(4.0)
    assert obs.upper == pytest.approx(4.0 + math.sqrt(12.5))
    assert obs.is_anomaly
    # With ignore_anomalies the 3 (outside 2 ± 0.816 on arrival) is dropped from the statistics but,
    # as in Deequ, still counted: mean 1.5 + (10 − 1.5)/4 = 3.625, Sn 0.5 + 8.5·6.375 = 54.6875.
    drop = OnlineNormalStrategy(1.0, 1.0, ignore_start_percentage=0.0)
    obs2 = drop.detect(history, next_point(history, 10.0))
    assert obs2 is not None
    assert obs2.expected == pytest.approx(3.625)
    assert obs2.upper == pytest.approx(3.625 + math.sqrt(54.6875 / 4))
    assert obs2.is_anomaly


def test_online_normal_needs_history_past_the_warm_up() -> None:
    assert OnlineNormalStrategy().detect([], Point(MONDAY, 1.0)) is None
    history = series([1.0, 2.0, 3.0])
    assert (
        OnlineNormalStrategy(ignore_start_percentage=1.0).detect(history, next_point(history, 50.0))
        is None
    )


def test_online_normal_open_side() -> None:
    history = series([1.0, 2.0, 1.0, 2.0, 1.0, 2.0])
    obs = OnlineNormalStrategy(None, 1.0).detect(history, next_point(history, -100.0))
    assert obs is not None
    assert obs.lower == -math.inf and not obs.is_anomaly


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lower_deviation_factor": None, "upper_deviation_factor": None},
        {"upper_deviation_factor": -3.0},
        {"ignore_start_percentage": 1.5},
        {"ignore_start_percentage": -0.1},
    ],
)
def test_online_normal_rejects_bad_parameters(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        OnlineNormalStrategy(**kwargs)  # type: ignore[arg-type]


# --- BatchNormalStrategy -------------------------------------------------------------------------


def test_batch_normal_constant_history_deequ_example() -> None:
    history = series([1.0, 1.0, 1.0])
    obs = BatchNormalStrategy().detect(history, next_point(history, 1000.0))
    assert obs is not None
    assert (obs.expected, obs.lower, obs.upper, obs.is_anomaly) == (1.0, 1.0, 1.0, True)


def test_batch_normal_uses_sample_standard_deviation() -> None:
    # [2, 4, 4, 4, 5, 5, 7, 9]: mean 5, sum of squares 32, sample σ = sqrt(32/7).
    history = series([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    strategy = BatchNormalStrategy(1.0, 1.0)
    sd = math.sqrt(32 / 7)
    high = strategy.detect(history, next_point(history, 8.0))
    ok = strategy.detect(history, next_point(history, 7.0))
    assert high is not None and ok is not None
    assert (high.expected, high.lower, high.upper) == pytest.approx((5.0, 5 - sd, 5 + sd))
    assert high.is_anomaly and not ok.is_anomaly


def test_batch_normal_include_interval_lets_a_spike_mask_itself() -> None:
    history = series([1.0, 1.0, 1.0])
    obs = BatchNormalStrategy(include_interval=True).detect(history, next_point(history, 1000.0))
    assert obs is not None
    # [1, 1, 1, 1000]: mean 250.75, sample σ 499.5 → upper 1749.25.
    assert obs.expected == pytest.approx(250.75)
    assert obs.upper == pytest.approx(250.75 + 3 * 499.5)
    assert not obs.is_anomaly


def test_batch_normal_needs_two_values_and_honours_open_sides() -> None:
    assert BatchNormalStrategy().detect(series([1.0]), Point(MONDAY + DAY, 2.0)) is None
    assert (
        BatchNormalStrategy(include_interval=True).detect(series([1.0]), Point(MONDAY + DAY, 2.0))
        is not None
    )
    history = series([1.0, 1.0, 1.0])
    low = BatchNormalStrategy(None, 1.0).detect(history, next_point(history, -50.0))
    assert low is not None and low.lower == -math.inf and not low.is_anomaly


def test_batch_normal_exclusions_are_not_training_data() -> None:
    history = [*series([1.0, 1.0, 1.0]), Point(MONDAY + 3 * DAY, 1000.0, included=False)]
    obs = BatchNormalStrategy().detect(history, Point(MONDAY + 4 * DAY, 1.0))
    assert obs is not None
    assert (obs.expected, obs.lower, obs.upper) == (1.0, 1.0, 1.0)


# --- Holt-Winters --------------------------------------------------------------------------------

WEEKDAYS = [1000.0, 1010.0, 990.0, 1005.0, 995.0, 500.0, 1000.0]  # Saturday (index 5) dips
NOISE = 10.0


def weekly(days: int, *, seed: int = 7) -> list[float]:
    rng = np.random.default_rng(seed)
    return [WEEKDAYS[i % 7] + float(rng.normal(0.0, NOISE)) for i in range(days)]


def test_holt_winters_needs_two_full_cycles() -> None:
    history = series(weekly(13))
    assert HoltWinters(7).detect(history, next_point(history, 1000.0)) is None
    with pytest.raises(InvalidInput, match="two full cycles"):
        fit_holt_winters(weekly(13), 7)
    with pytest.raises(InvalidInput, match="period"):
        HoltWinters(1)


def test_holt_winters_reproduces_a_noiseless_seasonal_series_exactly() -> None:
    history = series(WEEKDAYS * 3)  # 21 days, ends on a Sunday
    exact = HoltWinters(7).detect(history, next_point(history, WEEKDAYS[0]))
    off = HoltWinters(7).detect(history, next_point(history, WEEKDAYS[0] + 1))
    assert exact is not None and off is not None
    assert exact.expected == pytest.approx(WEEKDAYS[0])
    assert exact.upper - exact.lower == pytest.approx(0.0, abs=1e-9)
    assert not exact.is_anomaly and off.is_anomaly


def test_holt_winters_gradient_is_exact() -> None:
    values = np.array(weekly(60)) + 0.5 * np.arange(60)
    z = ((values - values.mean()) / values.std()).tolist()

    def sse(p: np.ndarray) -> float:
        return anomaly._hw_pass(z, 7, float(p[0]), float(p[1]), float(p[2]), None)[0]

    for a, b, g in ((0.3, 0.1, 0.1), (0.9, 0.5, 0.2), (0.05, 0.8, 0.9)):
        value, grad = anomaly._hw_sse_gradient(z, 7, a, b, g)
        assert value == pytest.approx(sse(np.array([a, b, g])))
        numeric = approx_fprime(np.array([a, b, g]), sse, 1e-7)
        assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-5)


def test_holt_winters_fit_is_bounded_and_deterministic() -> None:
    values = weekly(42)
    fit = fit_holt_winters(values, 7)
    assert all(0.0 <= v <= 1.0 for v in (fit.alpha, fit.beta, fit.gamma))
    assert fit == fit_holt_winters(values, 7)
    # Residual σ recovers the noise level, and Monday is forecast near its pattern value.
    assert 0.7 * NOISE < fit.sigma < 1.5 * NOISE
    assert fit.forecast(1) == pytest.approx(WEEKDAYS[0], abs=3 * NOISE)
    assert fit.forecast(6) == pytest.approx(WEEKDAYS[5], abs=3 * NOISE)


def test_seasonal_normal_day_is_not_flagged_and_a_5_sigma_spike_is() -> None:
    history = series(weekly(42))  # six weeks, ends on a Sunday
    normal = detect_anomaly(history, next_point(history, WEEKDAYS[0] + 0.5 * NOISE))
    spike = detect_anomaly(history, next_point(history, WEEKDAYS[0] + 5 * NOISE))
    assert normal is not None and spike is not None
    assert normal.strategy == spike.strategy == "HoltWinters"
    assert not normal.is_anomaly
    assert spike.is_anomaly
    assert spike.expected == normal.expected
    # The Deequ-width strategy agrees on both.
    hw = HoltWinters(7)
    assert not scored(hw.detect(history, next_point(history, WEEKDAYS[0] + 0.5 * NOISE))).is_anomaly
    assert scored(hw.detect(history, next_point(history, WEEKDAYS[0] + 5 * NOISE))).is_anomaly


def test_a_normal_saturday_dip_needs_seasonality_to_be_seen_as_normal() -> None:
    history = series(weekly(40))  # ends on a Friday; the next run is a Saturday
    saturday = next_point(history, WEEKDAYS[5])
    assert saturday.timestamp.weekday() == 5
    seasonal = HoltWinters(7).detect(history, saturday)
    naive = BatchNormalStrategy(1.96, 1.96).detect(history, saturday)  # the same 1.96 band
    default = detect_anomaly(history, saturday)
    assert seasonal is not None and naive is not None and default is not None
    assert not seasonal.is_anomaly
    assert naive.is_anomaly
    assert not default.is_anomaly and default.strategy == "HoltWinters"
    assert default.expected == pytest.approx(WEEKDAYS[5], abs=3 * NOISE)
    # …and a Monday-sized value on that Saturday is the anomaly instead.
    loud = detect_anomaly(history, next_point(history, WEEKDAYS[0]))
    assert loud is not None and loud.is_anomaly


# --- detect_anomaly ------------------------------------------------------------------------------


def test_no_verdict_before_three_included_points() -> None:
    assert MIN_HISTORY == 3
    assert detect_anomaly([], Point(MONDAY, 1.0)) is None
    two = series([10.0, 11.0])
    assert detect_anomaly(two, next_point(two, 1e9)) is None
    three = series([10.0, 11.0, 12.0])
    obs = detect_anomaly(three, next_point(three, 1e9))
    assert obs is not None and obs.is_anomaly and obs.strategy == "BatchNormalStrategy"
    # Excluded points do not count towards the three.
    marked = [Point(p.timestamp, p.value, included=i != 1) for i, p in enumerate(three)]
    assert detect_anomaly(marked, next_point(marked, 1e9)) is None


def test_an_excluded_spike_does_not_widen_the_band_but_an_included_one_does() -> None:
    base = [100.0, 101.0, 99.0, 100.0, 102.0, 98.0]
    current = Point(MONDAY + 7 * DAY, 106.0)
    clean = detect_anomaly(series(base), current)
    excluded = detect_anomaly(
        [*series(base), Point(MONDAY + 6 * DAY, 500.0, included=False)], current
    )
    included = detect_anomaly([*series(base), Point(MONDAY + 6 * DAY, 500.0)], current)
    assert clean is not None and excluded is not None and included is not None
    assert excluded == clean
    assert excluded.is_anomaly  # 106 is beyond 100 ± 3·1.41
    assert included.upper > excluded.upper + 100
    assert not included.is_anomaly


def test_an_excluded_day_does_not_train_holt_winters() -> None:
    values = weekly(42)
    spiked = [*series(values[:40]), Point(MONDAY + 40 * DAY, 5000.0, included=False)]
    spiked.append(Point(MONDAY + 41 * DAY, values[41]))
    clean = series(values)
    current = next_point(clean, values[0])
    a = detect_anomaly(spiked, current)
    b = detect_anomaly([p for p in clean if p.timestamp != MONDAY + 40 * DAY], current)
    assert a is not None and a == b and a.strategy == "HoltWinters"


def test_constant_history_accepts_float_noise_but_flags_a_real_change() -> None:
    history = series([1000.0] * 20)
    same = detect_anomaly(history, next_point(history, 1000.0))
    noise = detect_anomaly(history, next_point(history, 1000.0 * (1 + 1e-12)))
    real = detect_anomaly(history, next_point(history, 1001.0))
    assert same is not None and noise is not None and real is not None
    assert same.expected == pytest.approx(1000.0)
    assert same.lower < 1000.0 < same.upper  # never a zero-width band
    assert same.upper - same.lower == pytest.approx(2 * anomaly.MIN_BAND_RELATIVE * 1000.0)
    assert not same.is_anomaly and not noise.is_anomaly
    assert real.is_anomaly


def test_all_zero_history() -> None:
    history = series([0.0] * 5)
    zero = detect_anomaly(history, next_point(history, 0.0))
    tiny = detect_anomaly(history, next_point(history, 1e-12))
    one = detect_anomaly(history, next_point(history, 1.0))
    assert zero is not None and tiny is not None and one is not None
    assert (zero.expected, zero.lower, zero.upper) == (0.0, -1e-9, 1e-9)
    assert not zero.is_anomaly and not tiny.is_anomaly and one.is_anomaly
    # The seasonal path behaves the same on an all-zero fortnight.
    fortnight = series([0.0] * 14)
    flat = detect_anomaly(fortnight, next_point(fortnight, 0.0))
    assert flat is not None and flat.strategy == "HoltWinters" and not flat.is_anomaly


def test_huge_magnitudes_do_not_overflow() -> None:
    history = series([1e300, 3e300, 1e300, 3e300])
    obs = detect_anomaly(history, next_point(history, 2e300))
    assert obs is not None
    assert obs.expected == pytest.approx(2e300)
    assert_consistent(obs)
    wide = series([-1.7e308, 1.7e308, -1.7e308, 1.7e308])
    obs2 = detect_anomaly(wide, next_point(wide, 0.0))
    assert obs2 is not None and not obs2.is_anomaly
    assert_consistent(obs2)


def test_seasonal_model_needs_two_cycles_of_daily_history() -> None:
    values = weekly(14)
    thirteen = series(values[:13])
    fourteen = series(values)
    assert scored(detect_anomaly(thirteen, next_point(thirteen, 1000.0))).strategy == (
        "BatchNormalStrategy"
    )
    assert scored(detect_anomaly(fourteen, next_point(fourteen, 1000.0))).strategy == "HoltWinters"


def test_weekly_points_are_not_daily_history() -> None:
    history = series([100.0 + i for i in range(30)], step=timedelta(days=7))
    obs = detect_anomaly(history, next_point(history, 120.0, step=timedelta(days=7)))
    assert obs is not None and obs.strategy == "BatchNormalStrategy"


def test_a_missing_day_is_interpolated_but_a_long_gap_cuts_the_history() -> None:
    values = weekly(42)
    one_gap = [p for i, p in enumerate(series(values)) if i != 20]
    current = Point(MONDAY + 42 * DAY, WEEKDAYS[0])
    obs = detect_anomaly(one_gap, current)
    assert obs is not None and obs.strategy == "HoltWinters" and not obs.is_anomaly
    # A week missing at day 20–26: the 15 days after it still make two cycles.
    week_gap = [p for i, p in enumerate(series(values)) if not 20 <= i <= 26]
    obs2 = detect_anomaly(week_gap, current)
    assert obs2 is not None and obs2.strategy == "HoltWinters"
    assert "15 buckets" in obs2.message
    # The same gap ten days from the end leaves too little: mean ± 3σ over every point instead.
    late_gap = [p for i, p in enumerate(series(values)) if not 25 <= i <= 31]
    obs3 = detect_anomaly(late_gap, current)
    assert obs3 is not None and obs3.strategy == "BatchNormalStrategy"
    # Every third day missing is too sparse to trust interpolation.
    sparse = [p for i, p in enumerate(series(values)) if i % 3 != 0]
    obs4 = detect_anomaly(sparse, current)
    assert obs4 is not None and obs4.strategy == "BatchNormalStrategy"


def test_stale_history_falls_back() -> None:
    history = series(weekly(42))
    later = Point(history[-1].timestamp + 8 * DAY, WEEKDAYS[1])
    obs = detect_anomaly(history, later)
    assert obs is not None and obs.strategy == "BatchNormalStrategy"
    # Up to one cycle ahead is forecast, matching the weekday.
    week_on = Point(history[-1].timestamp + 6 * DAY, WEEKDAYS[5])
    obs2 = detect_anomaly(history, week_on)
    assert obs2 is not None and obs2.strategy == "HoltWinters" and not obs2.is_anomaly


def test_runs_are_bucketed_around_the_current_run_and_the_latest_run_wins() -> None:
    values = weekly(21)
    # Each day's run drifts ±50 min around midnight; anchored buckets keep one run per day.
    jitter = [timedelta(minutes=50 if i % 2 else -50) for i in range(21)]
    drifting = [Point(MONDAY + i * DAY + jitter[i], v) for i, v in enumerate(values)]
    current = Point(MONDAY + 21 * DAY, WEEKDAYS[0])
    a = detect_anomaly(drifting, current)
    b = detect_anomaly(series(values), current)
    assert a is not None and b is not None and a.strategy == "HoltWinters"
    assert a.expected == pytest.approx(b.expected)
    # A broken run at 22:00 re-done at midnight: the re-run is that day's value.
    rerun = [*series(values), Point(MONDAY + 20 * DAY - timedelta(hours=2), 0.0)]
    assert scored(detect_anomaly(rerun, current)).expected == pytest.approx(b.expected)


def test_aware_timestamps_and_metric_name() -> None:
    start = datetime(2024, 1, 1, 6, tzinfo=UTC)
    history = series(weekly(21), start=start)
    obs = detect_anomaly(history, next_point(history, WEEKDAYS[0]), metric="RowCount")
    assert obs is not None and obs.metric == "RowCount" and obs.timestamp == start + 21 * DAY


def test_detect_anomaly_is_deterministic() -> None:
    history = series(weekly(42))
    current = next_point(history, 1003.0)
    assert detect_anomaly(history, current) == detect_anomaly(history, current)


def test_detect_anomaly_rejects_bad_settings() -> None:
    history = series([1.0, 2.0, 3.0])
    current = next_point(history, 4.0)
    with pytest.raises(InvalidInput, match="period"):
        detect_anomaly(history, current, period=1)
    with pytest.raises(InvalidInput, match="interval"):
        detect_anomaly(history, current, interval=timedelta(0))


def test_hourly_data_with_daily_seasonality() -> None:
    rng = np.random.default_rng(3)
    shape = [100.0 + 50.0 * math.sin(2 * math.pi * h / 24) for h in range(24)]
    values = [shape[i % 24] + float(rng.normal(0, 2)) for i in range(24 * 3)]
    history = series(values, step=timedelta(hours=1))
    hour = timedelta(hours=1)
    normal = detect_anomaly(history, next_point(history, shape[0], hour), period=24, interval=hour)
    spike = detect_anomaly(
        history, next_point(history, shape[0] + 30, hour), period=24, interval=hour
    )
    assert normal is not None and spike is not None
    assert normal.strategy == "HoltWinters"
    assert not normal.is_anomaly and spike.is_anomaly


# --- properties ----------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(finite, min_size=0, max_size=30),
    included=st.lists(st.booleans(), min_size=30, max_size=30),
    actual=finite,
)
def test_default_detector_band_always_contains_expected(
    values: list[float], included: list[bool], actual: float
) -> None:
    history = [Point(MONDAY + i * DAY, v, included[i]) for i, v in enumerate(values)]
    obs = detect_anomaly(history, Point(MONDAY + len(values) * DAY, actual))
    if sum(included[: len(values)]) < MIN_HISTORY:
        assert obs is None
        return
    assert obs is not None
    assert_consistent(obs)
    assert obs.upper - obs.lower > 0  # the minimum band
    assert obs.strategy in STRATEGIES


@settings(max_examples=100, deadline=None)
@given(values=st.lists(finite, min_size=0, max_size=20), actual=finite)
def test_every_strategy_band_contains_expected(values: list[float], actual: float) -> None:
    history = series(values)
    current = Point(MONDAY + len(values) * DAY, actual)
    strategies: list[AnomalyStrategy] = [
        SimpleThresholdStrategy(lower=-10.0, upper=10.0),
        AbsoluteChangeStrategy(-5.0, 5.0),
        AbsoluteChangeStrategy(1.0, 5.0, order=2),
        RelativeRateOfChangeStrategy(0.9, 1.1),
        OnlineNormalStrategy(),
        BatchNormalStrategy(),
        HoltWinters(7),
    ]
    for strategy in strategies:
        obs = strategy.detect(history, current)
        if obs is not None:
            assert obs.lower <= obs.expected <= obs.upper, strategy
            if not isinstance(strategy, AbsoluteChangeStrategy | RelativeRateOfChangeStrategy):
                assert_consistent(obs)
