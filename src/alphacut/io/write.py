"""Writing results: atomically, never over an input, transparency kept where it can be."""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["ImageWriteError", "write_image", "encode_image", "FORMATS", "format_for"]

FORMATS = {
    "png": "PNG",
    "webp": "WEBP",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "tif": "TIFF",
    "tiff": "TIFF",
}


class ImageWriteError(OSError):
    """An output could not be written; the message is one line naming the file."""

    def __init__(self, target: str, problem: str) -> None:
        super().__init__(f"{target}: {problem}")
        self.target = target
        self.problem = problem


def format_for(path: str | os.PathLike, explicit: str | None = None) -> str:
    """PIL format name for ``path``'s extension, or for ``explicit`` (png/webp/jpg)."""
    key = (explicit or Path(path).suffix.lstrip(".")).lower()
    if key not in FORMATS:
        known = ", ".join(sorted(set(FORMATS)))
        raise ValueError(f"{path}: unknown output format {key!r} (use one of: {known})")
    return FORMATS[key]


def encode_image(
    array: np.ndarray, fmt: str, *, flatten_color: tuple[int, int, int] = (255, 255, 255)
) -> bytes:
    """Encode an HxW, HxWx3 or HxWx4 uint8 array as ``fmt`` ("PNG", "WEBP", "JPEG", ...).

    JPEG has no transparency: an RGBA array is flattened onto ``flatten_color`` (white by
    default) with a warning, rather than letting the encoder drop alpha and show black.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"expected uint8 pixels, got {array.dtype}")
    if fmt == "JPEG" and array.ndim == 3 and array.shape[2] == 4:
        warnings.warn(
            "JPEG cannot store transparency: flattening onto "
            f"rgb{tuple(flatten_color)}; use PNG or WebP to keep it",
            stacklevel=2,
        )
        alpha = array[..., 3:4].astype(np.float32) / 255
        background = np.asarray(flatten_color, np.float32)
        array = np.clip(np.rint(array[..., :3] * alpha + background * (1 - alpha)), 0, 255)
        array = array.astype(np.uint8)
    buffer = io.BytesIO()
    options = {"lossless": True} if fmt == "WEBP" else {}
    if fmt == "JPEG":
        options = {"quality": 95}
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write_image(
    path: str | os.PathLike,
    array: np.ndarray,
    *,
    fmt: str | None = None,
    overwrite: bool = False,
    protect: tuple[str | os.PathLike, ...] = (),
    flatten_color: tuple[int, int, int] = (255, 255, 255),
) -> Path:
    """Write ``array`` to ``path`` atomically: a temporary file beside it, then a rename.

    A crash or a full disk never leaves a half-written output, and an existing file is
    replaced only with ``overwrite``. Paths in ``protect`` (the inputs) are never written.

    Raises
    ------
    ImageWriteError
        One line naming the file: exists, is an input, folder missing or not writable.
    """
    target = Path(path)
    name = str(path)
    for source in protect:
        try:
            if target.resolve() == Path(source).resolve() or (
                target.exists() and os.path.samefile(target, source)
            ):
                raise ImageWriteError(name, "output would overwrite the input; choose another -o")
        except FileNotFoundError:
            continue
    if target.is_dir():
        raise ImageWriteError(name, "is a folder; give a file name")
    if target.exists() and not overwrite:
        raise ImageWriteError(name, "already exists (use --overwrite to replace it)")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ImageWriteError(name, f"folder {folder} does not exist")
    data = encode_image(array, fmt or format_for(target), flatten_color=flatten_color)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise ImageWriteError(name, f"cannot write in {folder} ({error.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600; give the output the permissions any new file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, target)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise ImageWriteError(name, f"cannot write ({error.strerror or error})") from None
    return target
