"""Writing results: atomically, never over an input, transparency kept where it can be."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import stat
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from alphacut.io.paths import display, folder_problem, output_problem

__all__ = [
    "ImageWriteError",
    "write_image",
    "encode_image",
    "check_output",
    "remove_temporary_files",
    "FORMATS",
    "format_for",
]

FORMATS = {
    "png": "PNG",
    "webp": "WEBP",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "tif": "TIFF",
    "tiff": "TIFF",
}


class ImageWriteError(OSError):
    """An output could not be written; the message is one line naming the file.

    Parameters
    ----------
    target : str
        The output file as given (escaped only in the message); kept as ``target``.
    problem : str
        What is wrong, without the file name; kept as ``problem``.
    """

    def __init__(self, target: str, problem: str) -> None:
        super().__init__(f"{display(target)}: {problem}")
        self.target = target
        self.problem = problem


def format_for(path: str | os.PathLike, explicit: str | None = None) -> str:
    """PIL format name for ``path``'s extension, or for ``explicit`` (png/webp/jpg).

    Parameters
    ----------
    path : str or os.PathLike
        The output file; its extension decides unless ``explicit`` is given.
    explicit : str, optional
        A format the user named (``"png"``, ``"webp"``, ``"jpg"``, ``"tif"``, ...), any
        case, overriding the extension.

    Returns
    -------
    str
        A value of :data:`FORMATS`: ``"PNG"``, ``"WEBP"``, ``"JPEG"`` or ``"TIFF"``.

    Raises
    ------
    ValueError
        For an extension or name not in :data:`FORMATS`.
    """
    key = (explicit or Path(path).suffix.lstrip(".")).lower()
    if key not in FORMATS:
        known = ", ".join(sorted(set(FORMATS)))
        raise ValueError(f"{display(path)}: unknown output format {key!r} (use one of: {known})")
    return FORMATS[key]


# Pillow's encoder settings, chosen for speed: lossless WebP's default effort took 6.8 s of
# a 12 MP cut-out's write; its fastest setting takes 0.6 s and its file is still two
# thirds of the PNG's (benchmarks/speed.py).
_ENCODER_OPTIONS: dict[str, dict] = {
    "WEBP": {"lossless": True, "quality": 0, "method": 0},
    "JPEG": {"quality": 95},
}

# PNG goes through OpenCV's libpng with one row filter ("up") at zlib level 1. The default
# zlib level spent 3.9 s of a 12 MP cut-out's 7.8 s; level 1 is as small once transparent
# pixels carry no colour. Pillow then still tries all five filters on every row and has no
# option to stop it: 0.69 s at 12 MP, "up" alone 0.37 s, and its file is smaller (12.9 MB
# against 13.3 MB): a cut-out's rows repeat the row above, above all where transparent.
_PNG_OPTIONS = [
    cv2.IMWRITE_PNG_COMPRESSION,
    1,
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_UP,
]
_TO_BGR = {3: cv2.COLOR_RGB2BGR, 4: cv2.COLOR_RGBA2BGRA}


def _encode_png(array: np.ndarray) -> bytes:
    """``array`` (uint8 HxW, HxWx3 RGB or HxWx4 RGBA) as PNG bytes, OpenCV's way."""
    if array.ndim == 3 and array.shape[2] in _TO_BGR:
        array = cv2.cvtColor(array, _TO_BGR[array.shape[2]])
    elif array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    elif array.ndim != 2:
        raise ValueError(f"cannot write an array of shape {array.shape} as PNG")
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array), _PNG_OPTIONS)
    if not ok:
        raise ValueError(f"OpenCV could not encode an array of shape {array.shape} as PNG")
    return encoded.tobytes()


def _clear_transparent(rgba: np.ndarray) -> np.ndarray:
    """``rgba`` with black colour under alpha 0 (a copy only if some pixel changes).

    A fully transparent pixel shows nothing, so its colour is free; one colour there makes
    the file smaller and faster to write, and no viewer can tell.
    """
    rgba = np.ascontiguousarray(rgba)
    alpha = cv2.extractChannel(rgba, 3)
    if cv2.countNonZero(alpha) == alpha.size:
        return rgba
    # One OpenCV pass (pixels outside the mask come out 0): numpy's masked assignment
    # took 0.3 s on a 48 MP cut-out, 1 s where alpha is noisy.
    return cv2.bitwise_and(rgba, rgba, mask=alpha)


def encode_image(
    array: np.ndarray, fmt: str, *, flatten_color: tuple[int, int, int] = (255, 255, 255)
) -> bytes:
    """Encode an HxW, HxWx3 or HxWx4 uint8 array as ``fmt`` ("PNG", "WEBP", "JPEG", ...).

    JPEG has no transparency: an RGBA array is flattened onto ``flatten_color`` (white by
    default) with a warning, rather than letting the encoder drop alpha and show black.

    Parameters
    ----------
    array : ndarray
        uint8 HxW grey, HxWx3 RGB or HxWx4 RGBA.
    fmt : str
        PIL format name, as :func:`format_for` returns it.
    flatten_color : tuple of int
        ``(r, g, b)``, 0..255: the background an RGBA array is flattened onto for JPEG.

    Returns
    -------
    bytes
        The encoded file. PNG and lossless WebP use their fastest settings, JPEG quality 95.

    Raises
    ------
    TypeError
        When ``array`` is not uint8.
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
    if fmt in ("PNG", "WEBP") and array.ndim == 3 and array.shape[2] == 4:
        array = _clear_transparent(array)
    if fmt == "PNG":
        return _encode_png(array)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **_ENCODER_OPTIONS.get(fmt, {}))
    return buffer.getvalue()


# Temporary files being written, so that a second Ctrl-C (which leaves at once, without
# unwinding) can still remove them: see remove_temporary_files.
_TEMPORARY: set[str] = set()


def remove_temporary_files() -> None:
    """Delete the temporary files of writes still in progress.

    For a signal handler that ends the process without unwinding the stack (which would
    run :func:`write_image`'s own clean-up).
    """
    for name in list(_TEMPORARY):
        _discard(name)


def _discard(temp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp)
    _TEMPORARY.discard(temp)


def check_output(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    protect: tuple[str | os.PathLike, ...] = (),
    create_folder: bool = False,
) -> None:
    """Refuse an output that :func:`write_image` would refuse, before any work is done.

    Parameters
    ----------
    path : str or path-like
        The output file.
    overwrite : bool
        Whether an existing regular file may be replaced.
    protect : tuple of path-like
        Inputs, never written even with ``overwrite``.
    create_folder : bool
        Whether the caller will make the output's folder if it is missing.

    Raises
    ------
    ImageWriteError
        One line naming the file: an input, exists, not a regular file (a folder, a
        named pipe, a device, or a link to one), or its folder is missing or a file.
    """
    target = Path(path)
    name = os.fspath(path)
    if any(_same_file(target, Path(source)) for source in protect):
        raise ImageWriteError(name, "output would overwrite the input; choose another -o")
    folder = target.parent if str(target.parent) else Path(".")
    problem = folder_problem(folder, create=create_folder)
    if problem is None:
        problem = output_problem(target, overwrite=overwrite)
    if problem is not None:
        raise ImageWriteError(name, problem)


def _same_file(target: Path, source: Path) -> bool:
    try:
        # realpath, unlike Path.resolve, does not raise on a symbolic link loop.
        if os.path.realpath(target) == os.path.realpath(source):
            return True
        return os.path.samefile(target, source)
    except OSError:
        return False  # either side missing or unreadable: they cannot be the same file


def _create_temporary(folder: Path, name: str, created: list[str], mode: int = 0o600) -> int:
    """Create a new hidden file in ``folder``; its name is in ``created`` (and in the
    registry) before it exists, so an interruption at any point leaves nothing behind.
    ``mode`` is ``os.open``'s: the kernel takes the process's umask off it."""
    for _ in range(100):
        # Short enough that a long output name does not make the temporary name too long.
        temp = os.fspath(folder / f".{name[:100]}.{secrets.token_hex(4)}.tmp")
        created.append(temp)
        _TEMPORARY.add(temp)
        try:
            return os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode
            )
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


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

    A crash, a full disk or an interruption (Ctrl-C, SIGTERM turned into an exception)
    never leaves a half-written output or the temporary file, and an existing file is
    replaced only with ``overwrite``. Outputs are only regular files: a folder, named pipe
    or device is refused even with ``overwrite``; a link to a regular file is written
    through, so the link stays.

    Parameters
    ----------
    path : str or os.PathLike
        The output file; its folder must exist.
    array : ndarray
        uint8 HxW, HxWx3 or HxWx4 pixels (see :func:`encode_image`).
    fmt : str, optional
        PIL format name; default from ``path``'s extension (:func:`format_for`).
    overwrite : bool
        Whether an existing regular file may be replaced.
    protect : tuple of path-like
        Inputs, never written even with ``overwrite``.
    flatten_color : tuple of int
        ``(r, g, b)``, 0..255, under transparent pixels when the format has no alpha.

    Returns
    -------
    pathlib.Path
        ``path`` as given (a link, not its target).

    Raises
    ------
    ImageWriteError
        One line naming the file: exists, is an input, not a regular file, folder missing
        or not writable.
    """
    target = Path(path)
    name = os.fspath(path)
    check_output(target, overwrite=overwrite, protect=protect)
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    folder = real.parent if str(real.parent) else Path(".")
    data = encode_image(array, fmt or format_for(target), flatten_color=flatten_color)
    try:
        # A replaced file keeps its permissions: the temporary file is made private, then
        # given them once written.
        keep: int | None = stat.S_IMODE(os.stat(real).st_mode)
    except OSError:
        keep = None
    created: list[str] = []
    try:
        # A new file gets what any new file would: 0o666 less the umask, which the kernel
        # takes off as it creates the file. Reading the umask would mean setting it
        # (os.umask), for the whole process: a race with every other thread.
        handle = _create_temporary(folder, real.name, created, 0o600 if keep is not None else 0o666)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if keep is not None:
            os.chmod(created[-1], keep)
        os.replace(created[-1], real)
    except OSError as error:
        problem = f"cannot write ({error.strerror or error})"
        if not created or not os.path.exists(created[-1]):
            problem = f"cannot write in {display(folder)} ({error.strerror or error})"
        raise ImageWriteError(name, problem) from None
    finally:
        for temp in created:
            # After the rename the name is gone; otherwise this is the clean-up.
            _discard(temp)
    return target
