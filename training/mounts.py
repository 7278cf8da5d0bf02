"""The TAO/TLT launcher's mounts file (``~/.tao_mounts.json``; TLT 3.0: ``~/.tlt_mounts.json``).

Its shape, as the FasterRCNN TLT readme writes it::

    {"Mounts": [{"source": LOCAL, "destination": IN_CONTAINER}, ...],
     "Envs": [{"variable": "CUDA_VISIBLE_DEVICES", "value": GPU_INDEX}],
     "DockerOptions": {"user": "UID:GID"}}

written with ``json.dump(..., indent=4)``. The launcher mounts each source into every task
container; a source that does not exist is a typo, so it is an error here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from taostream.converter.errors import TaostreamError
from taostream.converter.fileio import atomic_write_text, check_output_file
from taostream.converter.numeric_inputs import parse_gpu_index

MOUNTS_FILES = {"tao": "~/.tao_mounts.json", "tlt": "~/.tlt_mounts.json"}


@dataclass
class MountsConfig:
    mounts: list[tuple[str, str]] = field(default_factory=list)  # (source, destination)
    envs: list[tuple[str, str]] = field(default_factory=list)  # (variable, value)
    docker_user: str | None = None  # "uid:gid"

    def to_dict(self) -> dict:
        content: dict = {"Mounts": [{"source": s, "destination": d} for s, d in self.mounts]}
        if self.envs:
            content["Envs"] = [{"variable": k, "value": v} for k, v in self.envs]
        if self.docker_user:
            content["DockerOptions"] = {"user": self.docker_user}
        return content


def parse_mount(text: str, check_exists: bool = True) -> tuple[str, str]:
    """``LOCAL:CONTAINER`` -> (absolute local source, absolute container destination)."""
    source, sep, destination = text.rpartition(":")
    if not sep or not source or not destination:
        raise TaostreamError(f"mount '{text}': write it as LOCAL_FOLDER:CONTAINER_FOLDER")
    if not destination.startswith("/"):
        raise TaostreamError(f"mount '{text}': the container folder '{destination}' must be absolute")
    source = os.path.abspath(os.path.expanduser(source))
    if check_exists and not os.path.exists(source):
        raise TaostreamError(f"mount '{text}': the local folder '{source}' does not exist; create it first")
    return source, destination


def parse_env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise TaostreamError(f"env '{text}': write it as VARIABLE=VALUE")
    return name, value


def default_user() -> str:
    return f"{os.getuid()}:{os.getgid()}"


def build_mounts(mounts: list[str], envs: list[str] | None = None, gpu_index: str | None = None,
                 user: str | None = None, check_exists: bool = True) -> MountsConfig:
    config = MountsConfig([parse_mount(m, check_exists) for m in mounts], [parse_env(e) for e in envs or []],
                          user)
    if not config.mounts:
        raise TaostreamError("give at least one --mount LOCAL:CONTAINER (the launcher needs the data and specs)")
    destinations = [d for _, d in config.mounts]
    duplicates = sorted({d for d in destinations if destinations.count(d) > 1})
    if duplicates:
        raise TaostreamError(f"container folder(s) {', '.join(duplicates)} mounted twice; give each one source")
    if gpu_index is not None:
        # the readme sets the GPU through the container environment
        config.envs = [e for e in config.envs if e[0] != "CUDA_VISIBLE_DEVICES"]
        config.envs.append(("CUDA_VISIBLE_DEVICES", parse_gpu_index(gpu_index)))
    return config


# Owner-only: Envs may carry secrets (an NGC API key, a model key); the launcher reads the file as you.
MOUNTS_FILE_MODE = 0o600


def write_mounts_file(config: MountsConfig, path: str | os.PathLike, force: bool = False) -> Path:
    """Write the mounts file atomically, mode 0600 (MOUNTS_FILE_MODE)."""
    path = Path(os.path.expanduser(os.fspath(path)))
    text = json.dumps(config.to_dict(), indent=4)
    check_output_file(path, force=True)  # a folder or an unwritable place: one line, before reading it
    if path.exists() and not force and path.read_text(encoding="utf-8", errors="replace") != text:
        raise TaostreamError(f"{path} exists with other mounts; pass --force to replace it")
    return atomic_write_text(path, text, mode=MOUNTS_FILE_MODE)
