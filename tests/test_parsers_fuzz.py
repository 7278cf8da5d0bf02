"""A bounded fuzz run of the parsers (ASan + UBSan build) in CI: the fuzz target drives every
exported parser with malformed layers; any sanitizer report, abort or invalid box fails the test.
Where clang++ is installed the target is a coverage-guided libFuzzer binary; otherwise (g++) its
standalone random/mutation driver runs."""

from __future__ import annotations

import subprocess

from taostream.parsers import build

FUZZ_SECONDS = 30


def test_fuzz_parsers_under_sanitizers(tmp_path):
    compiler = build.libfuzzer_compiler()
    build_dir = build.REPO_ROOT / ("build-parsers-fuzz-clang" if compiler else "build-parsers-sanitize")
    target = build.build_fuzz_target(build_dir, sanitize=True, compiler=compiler)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    command = [str(target), f"-max_total_time={FUZZ_SECONDS}", "-seed=20261120"]
    if compiler:
        command += ["-rss_limit_mb=2048", "-timeout=10", str(corpus)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=FUZZ_SECONDS + 60, cwd=tmp_path,
        env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"},
    )
    report = result.stderr[-6000:]
    assert result.returncode == 0, report
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "invalid box", "deadly signal"):
        assert marker not in result.stderr, report
    assert ("Done " if compiler else "DONE") in result.stderr, report
