"""Reading a `taostream bundle` folder's manifest.json: the one reader every consumer uses
(`taostream check` on a bundle or on one of its configs, `infer`/`verify`/`evaluate` through
inference.bundle_info, scripts/jetson_build.sh).

bundle/make.py writes the manifest; it lives here, beside the writer, because inference may import
deepstream_configs but not the other way round (tests/test_import_layers.py). What is checked here is
what every reader needs: a UTF-8 JSON object carrying the manifest_version this taostream writes.
The fields a reader uses (files, input, platform, ...) are that reader's to check.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from taostream.converter.errors import TaostreamError

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1  # bundle/make.py writes it; bump it when a reader could misread an older manifest
RECREATE = "re-create the bundle with `taostream bundle`"


class ManifestError(TaostreamError):
    """A bundle's manifest.json is missing, not JSON, not a taostream manifest, or of another version.
    ``path``, ``field`` and ``problem`` let `taostream check` report it as a finding."""

    def __init__(self, path: Path, problem: str, field: str | None = None):
        self.path, self.problem, self.field = path, problem, field
        super().__init__(f"{path}: {field + ': ' if field else ''}{problem}")


def manifest_path(path: str | os.PathLike) -> Path:
    """manifest.json of the bundle folder ``path``, or ``path`` itself when it names that file."""
    path = Path(path)
    return path if path.name == MANIFEST_FILE or path.is_file() else path / MANIFEST_FILE


def load_manifest(path: str | os.PathLike) -> dict:
    """The manifest of the bundle folder ``path`` (or of the manifest.json file ``path``).

    Raises ManifestError (a TaostreamError: one line, exit code 2) when it is missing, unreadable, not a
    JSON object, or has no or another ``manifest_version`` than MANIFEST_VERSION."""
    file = manifest_path(path)
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        migrated = (file.parent / "migration.json").is_file()
        gies = sorted(p.parent.name for p in file.parent.glob(f"*/{MANIFEST_FILE}")) if migrated else []
        if gies:  # what `taostream migrate` writes for a deepstream-app config: one bundle per GIE inside
            raise ManifestError(file.parent, f"not a bundle but a migrated deepstream-app folder; give one of its GIE "
                                             f"bundles ({', '.join(str(file.parent / g) for g in gies)})") from None
        raise ManifestError(file.parent, f"not a taostream bundle (no {MANIFEST_FILE}); create one with "
                                         "`taostream bundle MODEL --network NET -o DIR`") from None
    except PermissionError:
        raise ManifestError(file, "cannot read it (permission denied): give yourself read access to the bundle "
                                  f"(chmod -R a+rX {file.parent}) or run as its owner") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ManifestError(file, f"unreadable manifest ({reason}); {RECREATE}") from None
    if not isinstance(manifest, dict):
        raise ManifestError(file, f"not a taostream bundle manifest (a JSON {type(manifest).__name__}, not an "
                                  f"object); {RECREATE}")
    version = manifest.get("manifest_version")
    if isinstance(version, bool) or not isinstance(version, int):
        what = "missing" if version is None else f"{version!r} is not a version number"
        raise ManifestError(file, f"{what}: not a taostream bundle manifest; {RECREATE}", "manifest_version")
    if version != MANIFEST_VERSION:
        fix = "written by a newer taostream: upgrade taostream (pip install -U taostream) or " if version > MANIFEST_VERSION else ""
        raise ManifestError(file, f"{version}, but this taostream reads version {MANIFEST_VERSION}: {fix}{RECREATE}",
                            "manifest_version")
    return manifest


def manifest_or_none(path: str | os.PathLike) -> dict | None:
    """load_manifest's manifest, or None where it refuses one: for a reader that only looks a bundle's facts
    up and leaves a broken manifest to the check that reports it."""
    try:
        return load_manifest(path)
    except ManifestError:
        return None
