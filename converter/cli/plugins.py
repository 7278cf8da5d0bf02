"""`taostream plugins check`: the plugins' C++ host implementations against their numpy references."""

from __future__ import annotations

import argparse
import json
import os
import sys

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_text, check_output_file


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plugins", help="the TensorRT plugins' C++ implementations (plugins/): check them",
        description="Work with the plugins' C++ implementations in plugins/ (libtaostream_plugins_host.so).")
    actions = parser.add_subparsers(dest="plugins_command", metavar="ACTION")
    check = actions.add_parser(
        "check", help="each plugin's host implementation against its numpy reference, bit for bit",
        description=(
            "For every plugin, run its C++ host implementation (libtaostream_plugins_host.so) and its numpy "
            "reference (taostream.plugins) on generated cases (ties, keepTopK above the candidates, "
            "background class, shareLocation both ways, batches, empty images) and compare the outputs bit "
            "for bit: one row per plugin and check. In a checkout the library is (re)built with CMake first; "
            "elsewhere $TAOSTREAM_PLUGINS_HOST_LIBRARY names it. Exit code 1 when an output differs."))
    check.add_argument("--json", metavar="REPORT", help="also write the rows as JSON to REPORT")
    check.set_defaults(func=run_check)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _library():
    """$TAOSTREAM_PLUGINS_HOST_LIBRARY, else the checkout's build, brought up to date with CMake."""
    from taostream.plugins import host as plugin_host  # lazy: CLI start-up
    from taostream.converter.native_build import REPO_ROOT, SOURCE_DIR  # lazy: CLI start-up

    if os.environ.get(plugin_host.LIBRARY_ENV):
        path = plugin_host.find_plugin_host_library()
    elif SOURCE_DIR == REPO_ROOT:
        print(f"building {plugin_host.LIBRARY_NAME} with CMake (up to date: nothing to do) ...", file=sys.stderr)
        path = plugin_host.build_plugin_host_library()
    else:
        raise TaostreamError(f"{plugin_host.LIBRARY_NAME} is not built: build it in a taostream checkout "
                             "(cmake -S . -B build && cmake --build build --target taostream_plugins_host) and "
                             f"set {plugin_host.LIBRARY_ENV} to it")
    library = plugin_host.load_plugin_host(str(path))
    if library is None:
        raise TaostreamError(f"{path}: cannot be used (see the warning above); rebuild it with "
                             "cmake --build build --target taostream_plugins_host")
    return library


def run_check(args: argparse.Namespace) -> int:
    from taostream.plugins import host as plugin_host  # lazy: CLI start-up
    from taostream.plugins.checks import DIFFERS, run_checks  # lazy: CLI start-up

    report = check_output_file(args.json, force=True, option="--json") if args.json else None
    library = _library()
    rows = run_checks(plugin_host.HOST_IMPLEMENTATIONS.get)
    width_plugin = max(len(r.plugin) for r in rows)
    width_check = max(len(r.check) for r in rows)
    print(f"{'plugin':<{width_plugin}}  {'check':<{width_check}}  result")
    for row in rows:
        detail = f" ({row.detail})" if row.detail else ""
        print(f"{row.plugin:<{width_plugin}}  {row.check:<{width_check}}  {row.result}{detail}")
    failed = [r for r in rows if r.result == DIFFERS]
    checked = sum(r.result != "no host implementation yet" for r in rows)
    print(f"{checked} checks of host implementations against the numpy references, {len(failed)} differ "
          f"(library {library._name})")
    if report is not None:
        atomic_write_text(report, json.dumps({"library": library._name, "rows": [r.to_json() for r in rows]},
                                             indent=1) + "\n")
    return 1 if failed else 0
