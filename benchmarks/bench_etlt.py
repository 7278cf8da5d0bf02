"""Decode throughput of the .etlt codec after key derivation.

Usage: python benchmarks/bench_etlt.py [--mb 100] [--repeat 5]

Prints MB/s for decoding a payload of --mb megabytes (key derivation is done once beforehand, as a
real decode of several models with one key does), and the ratio against a plain memory copy of the
same bytes in the same process (the floor any decoder must pay). Target: >= 500 MB/s on one core.
"""

from __future__ import annotations

import argparse
import os
import time

from taostream.converter.model import etlt


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    size = args.mb * 1024 * 1024
    # An ONNX-looking payload (ir_version 8, then a producer_name field) followed by random bytes.
    payload = b"\x08\x08\x12\x09taostream" + os.urandom(size - 12)
    blob = etlt.encode_etlt_bytes(payload, "nvidia_tlt")
    etlt.derive_key("nvidia_tlt")  # key derivation (PBKDF2, 100k iterations) is paid once per key

    decode_s = best_time(lambda: etlt.decode_etlt_bytes(blob, "nvidia_tlt"), args.repeat)
    copy_s = best_time(lambda: bytearray(blob), args.repeat)
    kdf_start = time.perf_counter()
    etlt.derive_key.__wrapped__("another key")
    kdf_s = time.perf_counter() - kdf_start

    mb = size / 1e6
    print(f"payload:            {mb:.0f} MB")
    print(f"decode:             {mb / decode_s:8.0f} MB/s  ({decode_s * 1e3:.1f} ms)")
    print(f"memory copy:        {mb / copy_s:8.0f} MB/s  (baseline)")
    print(f"decode / copy:      {copy_s / decode_s:8.3f}x of memcpy speed")
    print(f"key derivation:     {kdf_s * 1e3:8.1f} ms once per key")
    target = 500
    verdict = "meets" if mb / decode_s >= target else "MISSES"
    print(f"target >= {target} MB/s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
