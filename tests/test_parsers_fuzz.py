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


def test_lpr_character_id_far_outside_long_is_refused_without_undefined_behaviour(tmp_path):
    """Replays one input through the sanitized fuzz target: NvDsInferParseCustomNVPlate with a
    character id of about -2.4e21 (tf_op_layer_ArgMax of a broken engine). Converting it to long
    before the range check was undefined behaviour (UBSan: float-cast-overflow), found by the fuzz run."""
    compiler = build.libfuzzer_compiler()
    build_dir = build.REPO_ROOT / ("build-parsers-fuzz-clang" if compiler else "build-parsers-sanitize")
    target = build.build_fuzz_target(build_dir, sanitize=True, compiler=compiler)
    # parser 7 (LPR), no flags, net 0 x 0xE3*4, 0 classes, 0 thresholds, k=1 step; both layers plain float32.
    # The layer buffers are filled from the input's first bytes: ArgMax = bytes 07 00 00 E3 = -2.4e21.
    case = tmp_path / "lpr_huge_id"
    case.write_bytes(bytes([7, 0, 0x00, 0xE3, 0, 0, 1, 0, 0, 0, 0]))
    result = subprocess.run(
        [str(target), str(case)], capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"},
    )
    assert result.returncode == 0 and "runtime error:" not in result.stderr, result.stderr[-3000:]
