"""Documentation stays complete: every error code used in the source is in docs/errors.md."""

from __future__ import annotations

import re
from pathlib import Path

from oaklake import errors

ROOT = Path(__file__).resolve().parents[1]
ERRORS_MD = ROOT / "docs" / "errors.md"

# `code = "X"` (class attribute) or `code="X"` (keyword), including `code="X" if … else "Y"`.
_CODE_LINE = re.compile(r"\bcode\s*=\s*(?:f?\"[^\"]*\"|[^,)\n]*\")")
_LITERAL = re.compile(r"\"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})\"")


def codes_in_source() -> dict[str, str]:
    """Every error code the source can produce, with one place it comes from."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "src" / "oaklake").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not _CODE_LINE.search(line):
                continue
            for code in _LITERAL.findall(line):
                found.setdefault(code, f"{path.relative_to(ROOT)}:{number}")
    return found


def codes_in_docs() -> dict[str, str]:
    """The first column of the code table, with the exit code column."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| (\d+) \|", ERRORS_MD.read_text(encoding="utf-8"), re.M)
    return dict(rows)


def test_the_scan_finds_the_known_codes():
    found = codes_in_source()
    # Class attributes, keyword overrides, both branches of a conditional, the CLI's own.
    for code in (
        "TABLE_NOT_FOUND",
        "FILE_NOT_FOUND",
        "FUNCTION_NOT_FOUND",
        "QUERY_FAILED",
        "INVALID_VALUE",
        "INVALID_USAGE",
        "INTERNAL_ERROR",
    ):
        assert code in found, code
    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.OakError):
            assert cls.code in found


def test_every_error_code_is_documented():
    documented = codes_in_docs()
    missing = {code: where for code, where in codes_in_source().items() if code not in documented}
    assert not missing, f"add these codes to docs/errors.md: {missing}"


def test_no_documented_code_is_stale():
    used = codes_in_source()
    stale = sorted(set(codes_in_docs()) - set(used))
    assert not stale, f"docs/errors.md lists codes the source no longer uses: {stale}"


def test_documented_exit_codes():
    documented = codes_in_docs()
    assert documented.pop("INTERNAL_ERROR") == "3"
    assert documented.pop("QUALITY_GATE_FAILED") == "1"  # the data failed its rules
    assert set(documented.values()) == {"2"}  # every user error exits with 2
    assert errors.OakError.exit_code == 2
