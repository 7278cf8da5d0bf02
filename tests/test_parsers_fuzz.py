"""A bounded fuzz run of the parsers (ASan + UBSan build) in CI: the fuzz target drives every
exported parser with malformed layers; any sanitizer report, abort or invalid box fails the test.
With clang the target is a libFuzzer binary; with g++ its standalone random/mutation driver runs."""

from __future__ import annotations

import subprocess

from taostream.parsers import build

SANITIZE_BUILD_DIR = build.REPO_ROOT / "build-parsers-sanitize"
FUZZ_SECONDS = 30


def test_fuzz_parsers_under_sanitizers():
    target = build.build_fuzz_target(SANITIZE_BUILD_DIR, sanitize=True)
    result = subprocess.run(
        [str(target), f"-max_total_time={FUZZ_SECONDS}", "-seed=20261120"],
        capture_output=True, text=True, timeout=FUZZ_SECONDS + 60,
        env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"},
    )
    report = result.stderr[-6000:]
    assert result.returncode == 0, report
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "invalid box"):
        assert marker not in result.stderr, report
    assert "DONE" in result.stderr, report
