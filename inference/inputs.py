"""Input discovery and frame reading for `taostream infer`: image files, folders, video files."""

from __future__ import annotations

import ctypes
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote, urlparse

import numpy as np

from taostream.converter.errors import TaostreamError
from taostream.converter.model.preprocess import ImageError, load_bgr
from taostream.converter.wording import plural

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".h264", ".264", ".webm", ".mpg", ".mpeg")


@dataclass(frozen=True)
class InputItem:
    path: Path
    kind: str  # "image" | "video"
    stem: str  # unique name for output files


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None


_STREAM_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _folder_files(folder: Path, recursive: bool) -> list[Path]:
    """The images and videos of ``folder`` by name; with ``recursive`` also those of its subfolders
    (hidden ones such as .ipynb_checkpoints/ are not read, links to folders are not followed)."""
    if not recursive:
        return sorted(p for p in folder.iterdir() if p.is_file() and _kind(p))
    found = []
    for top, folders, files in os.walk(folder, onerror=_raise_walk_error):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found.extend(Path(top) / name for name in files if _kind(Path(name)) and (Path(top) / name).is_file())
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _raise_walk_error(error: OSError) -> None:
    raise TaostreamError(f"{error.filename}: cannot list this folder ({error.strerror})")


def _subfolder_note(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        return ""
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"; its {plural(len(names), 'subfolder')} ({shown}) are not read without --recursive"


def collect_inputs(paths: list[str | os.PathLike], recursive: bool = False) -> list[InputItem]:
    """Files as given (images or videos), folders expanded to their images and videos (sorted by
    name; subfolders too with ``recursive``). Output stems are made unique (name, name_1, ...); a file
    of a subfolder keeps its path under the folder (``sub/name``) so outputs mirror the tree."""
    found: list[tuple[Path, str, str]] = []
    for raw in paths:
        if str(raw).startswith("file://"):  # DeepStream's way to name a file
            raw = unquote(urlparse(str(raw)).path)
        if _STREAM_URL.match(str(raw)):  # Path() would fold rtsp:// into rtsp:/ and call it a missing file
            raise TaostreamError(f"{raw}: a stream URL; this command reads image and video files and folders: "
                                 "run a stream with `taostream deepstream-app BUNDLE URL`, or save a clip and give "
                                 "the file")
        path = Path(raw)
        if path.is_dir():
            try:
                entries = _folder_files(path, recursive)
            except PermissionError as exc:
                raise TaostreamError(f"{path}: cannot list this folder ({exc.strerror})") from None
            if not entries:
                raise TaostreamError(f"{path}: folder has no images ({', '.join(IMAGE_SUFFIXES)}) or videos "
                                     f"({', '.join(VIDEO_SUFFIXES)})" + ("" if recursive else _subfolder_note(path)))
            found.extend((p, _kind(p), p.relative_to(path).with_suffix("").as_posix()) for p in entries)
        elif path.is_file():
            kind = _kind(path)
            if kind is None:
                raise TaostreamError(f"{path}: not an image or video file by its extension; use one of "
                                     f"{', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)}")
            found.append((path, kind, path.stem))
        else:
            raise TaostreamError(f"{path}: no such file or folder")
    used: dict[str, int] = {}
    items = []
    for path, kind, stem in found:
        count = used.get(stem, 0)
        used[stem] = count + 1
        items.append(InputItem(path, kind, stem if count == 0 else f"{stem}_{count}"))
    return items


def read_images(items: Iterable[InputItem], skipped: list[str]) -> Iterator[tuple[InputItem, np.ndarray]]:
    """(item, BGR frame) of each image that can be read. One that cannot (empty, cut short, not an
    image, not readable by this user) is one warning line on stderr naming it and why, is added to
    ``skipped``, and the run goes on: one bad file in a folder of thousands does not stop it."""
    from tqdm import tqdm  # lazy: heavy

    for item in items:
        try:
            frame = load_bgr(item.path)
        except ImageError as exc:
            message = str(exc) if str(exc).startswith(str(item.path)) else f"{item.path}: {exc}"
            # tqdm.write: a whole line above a running progress bar, not glued to it
            tqdm.write(f"taostream: warning: {message}; skipped", file=sys.stderr)
            skipped.append(str(item.path))
            continue
        yield item, frame


def unreadable_summary(skipped: list[str], images: int) -> str:
    """The run's one line about the images it skipped ('' when none)."""
    if not skipped:
        return ""
    return f"{plural(images + len(skipped), 'image')}, {len(skipped)} unreadable, skipped (each named above)"


def require_some_image(skipped: list[str], read: int) -> None:
    """Exit 2 when images were given and not one could be read (each was named above)."""
    if skipped and not read:
        raise TaostreamError(f"no image could be read ({plural(len(skipped), 'image')} given, each named above); "
                             "nothing to run on")


# FFmpeg's own log level for OpenCV's FFmpeg backend (-8: AV_LOG_QUIET). FFmpeg wrote "moov atom not
# found" on opening a cut video, and "[mjpeg @ 0x...] overread 8" on decoding its cut frame, before
# taostream's own line about it (cv2.setLogLevel does not reach FFmpeg). A value the user set is kept
# (debugging a codec).
FFMPEG_LOGLEVEL_ENV, FFMPEG_QUIET = "OPENCV_FFMPEG_LOGLEVEL", "-8"


def _loaded_libavutils() -> list:
    """ctypes handles of every libavutil mapped into this process (the one OpenCV's FFmpeg backend logs
    through; an opencv-python wheel bundles its own), read from /proc/self/maps; [] where there is none."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: the environment variable alone
        return []
    paths = sorted({line.split(maxsplit=5)[-1] for line in maps.splitlines()
                    if "/libavutil" in line and line.split(maxsplit=5)[-1].startswith("/")})
    handles = []
    for path in paths:
        try:
            handles.append(ctypes.CDLL(path))  # already loaded: the same library, not a second copy
        except OSError:
            continue
    return handles


def quiet_ffmpeg() -> None:
    """Keep FFmpeg's own messages (opening and decoding) off stderr unless the user set
    OPENCV_FFMPEG_LOGLEVEL. OpenCV's FFmpeg backend reads that variable once per process, at its first
    capture or writer open (since OpenCV 4.10: opencv/opencv#25419; before, at every open), so setting
    it is too late where anything opened a video before taostream: FFmpeg's process-wide level is then
    set directly too (av_log_set_level, which its default logger and OpenCV's both obey)."""
    if FFMPEG_LOGLEVEL_ENV in os.environ and os.environ[FFMPEG_LOGLEVEL_ENV] != FFMPEG_QUIET:
        return  # the user's own level
    os.environ[FFMPEG_LOGLEVEL_ENV] = FFMPEG_QUIET
    for libavutil in _loaded_libavutils():
        libavutil.av_log_set_level(int(FFMPEG_QUIET))


def _open_quietly(cv2, path: Path):
    """cv2.VideoCapture(path) without FFmpeg's or OpenCV's own messages on stderr: taostream
    reports a video it cannot open itself."""
    quiet_ffmpeg()
    previous = cv2.setLogLevel(0)  # OpenCV's own logger (LOG_LEVEL_SILENT) while the file is opened
    try:
        return cv2.VideoCapture(str(path))
    finally:
        cv2.setLogLevel(previous)


def read_video(path: Path) -> tuple[Iterator[np.ndarray], float, int]:
    """(frames as BGR arrays, fps, frame count or 0 when unknown)."""
    import cv2  # lazy: heavy

    if path.is_file() and path.stat().st_size == 0:
        raise TaostreamError(f"{path}: the video file is empty (0 bytes): an interrupted copy or recording? "
                             "copy it again")
    capture = _open_quietly(cv2, path)
    if not capture.isOpened():
        raise TaostreamError(f"{path}: OpenCV cannot open this video (codec or container not supported, or a "
                             "truncated file)")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)

    def frames() -> Iterator[np.ndarray]:
        read = 0
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                read += 1
                yield frame
        finally:
            capture.release()
        if read < count:
            # a file cut short (interrupted copy or recording) still opens: say so instead of stopping silently
            print(f"taostream: warning: {path}: read {read} of the {count} frames its container claims; the file "
                  f"is probably cut short (an interrupted copy or recording): results cover the first {read} frames; "
                  "copy or record it again for the rest", file=sys.stderr)

    return frames(), fps, max(count, 0)
