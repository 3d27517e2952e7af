"""The File* rules: checks on the files behind a dataset, not on its rows.

FileFreshness (last-modified times), FileSize, FileMatch (checksums, or two files compared) and
FileUniqueness (share of distinct contents) read the files of a ``Dataset.of_file`` dataset, or
the local path a rule names. They never scan rows, so they are not part of the SQL plan: their
``finish`` reads the file system when the evaluator asks for the outcome.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from oaklake.errors import OakError
from oaklake.quality.ast import (
    Between,
    Compare,
    Condition,
    Date,
    InList,
    Keyword,
    Now,
    Number,
    Operand,
    Rule,
    Size,
    String,
    Time,
)
from oaklake.quality.compile import (
    Measure,
    Measured,
    RuleError,
    Values,
    error_measure,
    percent_reason,
)
from oaklake.quality.operands import OperandError, check

HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA1": "sha1", "SHA-256": "sha256", "SHA256": "sha256"}


def compile_file_rule(
    rule: Rule, dataset_files: Sequence[Path] | None, now: dt.datetime
) -> Measure:
    """A Measure whose ``finish`` evaluates the file rule (``now`` is naive UTC)."""

    def guarded(fn: Callable[[], Measured]) -> Callable[[Values], Measured]:
        def finish(_: Values) -> Measured:
            try:
                return fn()
            except (RuleError, OperandError, OakError, OSError) as e:
                message = e.message if isinstance(e, OakError) else str(e)
                return Measured(error=message)

        return finish

    kind = rule.rule_type
    if kind == "FileFreshness":
        return Measure(rule, "rows", guarded(lambda: _freshness(rule, dataset_files, now)))
    if kind == "FileSize":
        return Measure(rule, "rows", guarded(lambda: _size(rule, dataset_files)))
    if kind == "FileMatch":
        return Measure(rule, "verdict", guarded(lambda: _match(rule, dataset_files)))
    if kind == "FileUniqueness":
        return Measure(rule, "metric", guarded(lambda: _uniqueness(rule, dataset_files)))
    return error_measure(rule, f"{kind} is not a file rule")


# ---- which files ---------------------------------------------------------------------------


def expand(path: str) -> list[Path]:
    """A local file, folder (every file under it) or glob, as files; RuleError for none."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path) and not path.startswith("file://"):
        raise RuleError(f"only local paths can be checked here, not {path}")
    from oaklake.errors import NotFound
    from oaklake.quality.dataset import _expand

    try:
        return _expand(path.removeprefix("file://"))
    except NotFound as e:
        raise RuleError(e.message) from None


def select_files(rule: Rule, dataset_files: Sequence[Path] | None, param: int = 0) -> list[Path]:
    if len(rule.params) > param:
        files = expand(rule.params[param])
    elif dataset_files:
        files = list(dataset_files)
    else:
        raise RuleError(
            f"{rule.rule_type} needs a file dataset (Dataset.of_file) or a path: "
            f'{rule.rule_type} "data/orders/"'
        )
    pattern = rule.tags.get("uriRegex")
    if pattern:
        try:
            regex = re.compile(pattern)
        except re.error as e:
            raise RuleError(f"Invalid uriRegex {pattern!r}: {e}") from None
        files = [f for f in files if regex.search(f.as_posix())]
    recent = rule.tags.get("recentFiles")
    if recent:
        if not recent.isdigit() or int(recent) < 1:
            raise RuleError(f"recentFiles is a whole number of files, not {recent!r}")
        files = sorted(files, key=lambda f: f.stat().st_mtime, reverse=True)[: int(recent)]
    if not files:
        raise RuleError("no files to check")
    return files


def checksum(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _algorithm(rule: Rule) -> str:
    name = rule.tags.get("hashAlgorithm", "SHA-256").upper()
    if name not in HASHES:
        raise RuleError(f"hashAlgorithm is MD5, SHA-1 or SHA-256, not {name!r}")
    return HASHES[name]


# ---- the rules -----------------------------------------------------------------------------


def _compliance(
    rule: Rule, files: list[Path], passes: Callable[[Path], bool], key: str
) -> Measured:
    passed = sum(1 for f in files if passes(f))
    ratio = passed / len(files)
    metrics = {key: ratio, "Dataset.*.FileCount": float(len(files))}
    ok = ratio == 1.0
    return Measured(
        metrics, value=ratio, verdict=ok, reason=None if ok else percent_reason(ratio, "files")
    )


def _freshness(rule: Rule, dataset_files: Sequence[Path] | None, now: dt.datetime) -> Measured:
    files = select_files(rule, dataset_files)
    zone_name = rule.tags.get("timeZone", "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(f"unknown timeZone {zone_name!r}") from None
    assert rule.condition is not None
    condition = _to_epoch(rule.condition, now, zone)

    def passes(path: Path) -> bool:
        return check(path.stat().st_mtime, condition)

    return _compliance(rule, files, passes, "Dataset.*.FileFreshness.Compliance")


def _to_epoch(condition: Condition, now: dt.datetime, zone: ZoneInfo) -> Condition:
    """Date/time operands as POSIX seconds; dates and times of day are read in ``zone``."""
    utc_now = now.replace(tzinfo=dt.UTC)

    def fix(operand: Operand) -> Operand:
        if isinstance(operand, Keyword):
            return operand
        if isinstance(operand, Date):
            moment = dt.datetime.combine(operand.value, dt.time(), zone)
        elif isinstance(operand, Time):
            today = utc_now.astimezone(zone).date()
            moment = dt.datetime.combine(today, operand.value, zone)
        elif isinstance(operand, Now):
            moment = utc_now
            if operand.unit is not None:
                moment += dt.timedelta(**{operand.unit: operand.offset_amount})
        elif isinstance(operand, String):
            raise RuleError(f"{operand.value!r} is not a date or time")
        else:
            raise RuleError("FileFreshness compares last-modified times with dates and times")
        return Number(repr(moment.timestamp()))

    return _map(condition, fix)


def _map(condition: Condition, fix: Callable[[Operand], Operand]) -> Condition:
    if isinstance(condition, Compare):
        return replace(condition, operand=fix(condition.operand))
    if isinstance(condition, Between):
        return replace(condition, low=fix(condition.low), high=fix(condition.high))
    if isinstance(condition, InList):
        return replace(condition, values=tuple(fix(v) for v in condition.values))
    return condition


def _size(rule: Rule, dataset_files: Sequence[Path] | None) -> Measured:
    files = select_files(rule, dataset_files)
    assert rule.condition is not None

    def to_bytes(operand: Operand) -> Operand:
        if isinstance(operand, Size):
            return Number(str(operand.bytes))
        if isinstance(operand, Keyword | Number):
            return operand
        raise RuleError("FileSize compares with sizes: < 5 MB")

    condition = _map(rule.condition, to_bytes)
    sizes = {f: f.stat().st_size for f in files}
    out = _compliance(
        rule, files, lambda f: check(float(sizes[f]), condition), "Dataset.*.FileSize.Compliance"
    )
    out.metrics["Dataset.*.MaximumFileSize"] = float(max(sizes.values()))
    out.metrics["Dataset.*.MinimumFileSize"] = float(min(sizes.values()))
    return out


def _match(rule: Rule, dataset_files: Sequence[Path] | None) -> Measured:
    algorithm = _algorithm(rule)
    if rule.condition is None:
        first, second = expand(rule.params[0]), expand(rule.params[1])
        mine = sorted(checksum(f, algorithm) for f in first)
        theirs = sorted(checksum(f, algorithm) for f in second)
        metrics = {"Dataset.*.FileCount": float(len(first))}
        if mine == theirs:
            return Measured(metrics, verdict=True)
        return Measured(
            metrics,
            verdict=False,
            reason=f"Files do not match: {rule.params[0]} and {rule.params[1]} differ "
            f"({len(first)} vs {len(second)} file(s), compared by {algorithm})",
        )
    files = select_files(rule, dataset_files)
    condition = rule.condition
    if not isinstance(condition, InList):
        raise RuleError('FileMatch takes a checksum list: in ["<checksum>"]')
    wanted = {v.value.strip().lower() for v in condition.values if isinstance(v, String)}
    sums = {f: checksum(f, algorithm) for f in files}
    offenders = [f for f, s in sums.items() if s.lower() not in wanted]
    metrics = {"Dataset.*.FileCount": float(len(files))}
    if not offenders:
        return Measured(metrics, verdict=True)
    listed = ", ".join(f"{f.name} ({algorithm} {sums[f]})" for f in offenders[:10])
    return Measured(
        metrics,
        verdict=False,
        reason=f"Checksum does not match for {len(offenders)} file(s): {listed}",
    )


def _uniqueness(rule: Rule, dataset_files: Sequence[Path] | None) -> Measured:
    files = select_files(rule, dataset_files)
    sums = [checksum(f) for f in files]
    ratio = len(set(sums)) / len(sums)
    return Measured(
        {"Dataset.*.FileUniquenessRatio": ratio, "Dataset.*.FileCount": float(len(files))},
        value=ratio,
    )
