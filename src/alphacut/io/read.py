"""Reading photos into RGB arrays, whatever their mode, orientation, bit depth or frames.

Every failure is an :class:`ImageReadError` whose message is one line naming the file and
the problem; PIL's own warnings (a damaged EXIF block, ...) become at most one
:class:`ImageReadWarning` per problem, or nothing when they are harmless.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from alphacut.io.paths import display, input_problem

__all__ = [
    "ImageReadError",
    "ImageReadWarning",
    "ImageInfo",
    "MAX_PIXELS",
    "MULTI_FRAME_FORMATS",
    "probe_image",
    "probe_image_bytes",
    "read_image",
    "read_image_bytes",
    "read_frames",
    "read_frames_bytes",
]

# 100 megapixels: well above any camera's photo, well below what would exhaust memory
# (a 20000x20000 "decompression bomb" would need ~5 GB as float RGB).
MAX_PIXELS = 100_000_000

# Formats whose extra frames are pictures of their own (animation frames, pages). An MPO
# (many phone JPEGs) carries a preview or depth map as its second frame, and a PSD its
# layers: those files are one picture, their first frame.
MULTI_FRAME_FORMATS = frozenset({"GIF", "WEBP", "PNG", "TIFF"})

# PIL warnings that say nothing the user could act on.
_HARMLESS = (
    "Palette images with Transparency expressed in bytes",
    "malformed MPO file",
    "XMP data cannot be read",
)

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\0", "TIFF"),
    (b"MM\0*", "TIFF"),
    (b"BM", "BMP"),
)


class ImageReadError(ValueError):
    """A photo could not be read; the message is one line naming the file and the problem.

    Attributes
    ----------
    source : str
        The file as given (not escaped).
    problem : str
        What is wrong, without the file name.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{display(source)}: {problem}")
        self.source = source
        self.problem = problem


class ImageReadWarning(UserWarning):
    """A photo was read, but something in it was damaged or ignored (e.g. its EXIF block).

    The message is one line naming the file; ``problem`` holds it without the name.

    Parameters
    ----------
    source : str
        The file as given (escaped only in the message).
    problem : str
        What was damaged or ignored, without the file name.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{display(source)}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`probe_image` learns from a file's header.

    Attributes
    ----------
    width, height : int
        Of the first frame, before EXIF rotation.
    frames : int
        Animation frames or pages; 1 for a still picture.
    format : str
        PIL's name of the format ("JPEG", "PNG", "GIF", ...).
    """

    width: int
    height: int
    frames: int
    format: str


def _sniff(head: bytes) -> str | None:
    """What a file that PIL cannot identify looks like, for the error message."""
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _not_an_image(head: bytes) -> str:
    stripped = head.lstrip().lower()
    if head.startswith(b"%PDF"):
        kind = "a PDF document"
    elif stripped.startswith((b"<svg", b"<?xml")):
        kind = "an SVG or XML file (vector images are not supported)"
    elif stripped.startswith((b"<!doctype html", b"<html")):
        kind = "an HTML page"
    elif head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        kind = "a HEIF/AVIF image, which this installation cannot decode"
    elif head and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head):
        kind = "text"
    else:
        return "not an image file, or a format that cannot be read"
    return f"not an image file (it is {kind})"


def _too_large(width: int, height: int, limit: int) -> str:
    return (
        f"image is {width}x{height} ({width * height / 1e6:.0f} megapixels), over the limit "
        f"of {limit / 1e6:.0f} megapixels (possible decompression bomb)"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextmanager
def _pil_warnings(source: str, tiff: bool = False) -> Iterator[None]:
    """Turn PIL's warnings inside the block into at most one ImageReadWarning each.

    PIL reads EXIF blocks with its TIFF code, so outside a TIFF file (``tiff``) its TIFF
    warnings ("Truncated File Read", "Possibly corrupt EXIF data ...", each printed over
    two lines) are all one problem: "damaged EXIF metadata was ignored". Harmless ones
    are dropped; decompression-bomb warnings become errors.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield
    seen: set[str] = set()
    for record in caught:
        text = _first_line(record.message) if isinstance(record.message, Warning) else ""
        text = text or str(record.message)
        if any(harmless in text for harmless in _HARMLESS):
            continue
        exif = not tiff and Path(record.filename).name == "TiffImagePlugin.py"
        problem = "damaged EXIF metadata was ignored" if exif or "EXIF" in text else text
        if problem not in seen:
            seen.add(problem)
            warnings.warn(ImageReadWarning(source, problem), stacklevel=4)


class _Decoder:
    """One open file: its header, then its frames as RGB arrays, on demand."""

    def __init__(self, handle: BinaryIO, source: str, max_pixels: int) -> None:
        self.handle = handle
        self.source = source
        self.max_pixels = max_pixels
        self.image: Image.Image | None = None
        self.pages: list[np.ndarray] | None = None  # decoded by OpenCV (float TIFFs)
        self.tiff = False  # whether PIL's TIFF warnings are about the image, not its EXIF
        self.info = self._open()

    def _fail(self, problem: str) -> ImageReadError:
        return ImageReadError(self.source, problem)

    def _decoder_error(self, error: Exception, action: str) -> ImageReadError:
        """One line for whatever Pillow raised while it opened or decoded the image: any
        decoder failure but a bomb or a lack of memory means a damaged file."""
        if isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
            return self._fail(_bomb(error))
        if isinstance(error, MemoryError):
            return self._fail(f"not enough memory to {action} this image")
        return self._fail(f"corrupt or truncated image ({_first_line(error)})")

    def _open(self) -> ImageInfo:
        head = self.handle.read(64)
        self.handle.seek(0)
        self.tiff = _sniff(head) == "TIFF"
        try:
            with _pil_warnings(self.source, self.tiff):
                image = Image.open(self.handle)
                width, height = image.size
                if width * height > self.max_pixels:
                    raise self._fail(_too_large(width, height, self.max_pixels))
                frames = getattr(image, "n_frames", 1) if image.format in MULTI_FRAME_FORMATS else 1
        except ImageReadError:
            raise
        except UnidentifiedImageError:
            kind = _sniff(head)
            if kind == "TIFF":
                return self._open_with_opencv()
            if kind is not None:
                raise self._fail(f"corrupt {kind} image (its header cannot be read)") from None
            raise self._fail(_not_an_image(head)) from None
        except Exception as error:  # noqa: BLE001 - see _decoder_error
            raise self._decoder_error(error, "open") from None
        if width == 0 or height == 0:
            raise self._fail(f"corrupt image (its header says {width}x{height} pixels)")
        self.image = image
        return ImageInfo(width, height, max(1, int(frames)), str(image.format))

    def _open_with_opencv(self) -> ImageInfo:
        """TIFFs PIL cannot open (float or many-sample pixels) through OpenCV, after
        checking every page's size in the header, since OpenCV's own limit is 1 gigapixel."""
        import cv2
        from PIL import TiffImagePlugin

        self.handle.seek(0)  # PIL's attempt moved it
        data = self.handle.read()
        try:
            with _pil_warnings(self.source, tiff=True):
                stream = io.BytesIO(data)
                directory = TiffImagePlugin.ImageFileDirectory_v2(data[:8])
                offset, seen, sizes = directory.next, set(), []
                while offset and offset not in seen:
                    seen.add(offset)
                    stream.seek(offset)
                    directory.load(stream)
                    sizes.append((int(directory.get(256, 0)), int(directory.get(257, 0))))
                    offset = directory.next
        except Exception as error:  # noqa: BLE001 - a damaged header
            raise self._fail(f"corrupt TIFF image ({_first_line(error)})") from None
        if not sizes:
            raise self._fail("corrupt TIFF image (it holds no image)")
        for width, height in sizes:
            if width * height > self.max_pixels:
                raise self._fail(_too_large(width, height, self.max_pixels))
        level = cv2.utils.logging.getLogLevel()
        # libtiff's complaints go to OpenCV's log, which prints to stderr.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            ok, pages = cv2.imdecodemulti(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            ok, pages = False, []
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not ok or not pages:
            raise self._fail("corrupt or truncated TIFF image, or a pixel layout it cannot read")
        self.pages = list(pages)
        height, width = self.pages[0].shape[:2]
        return ImageInfo(width, height, len(self.pages), "TIFF")

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as HxWx3 RGB (uint8, or float32 in [0, 1])."""
        if self.pages is not None:
            return _opencv_to_rgb(self.pages[index], self.source)
        assert self.image is not None
        image = self.image
        try:
            with _pil_warnings(self.source, self.tiff):
                if index:
                    image.seek(index)
                width, height = image.size
                if width * height > self.max_pixels:
                    raise self._fail(_too_large(width, height, self.max_pixels))
                image.load()
        except ImageReadError:
            raise
        except Exception as error:  # noqa: BLE001 - see _decoder_error
            raise self._decoder_error(error, "decode") from None
        try:
            with _pil_warnings(self.source):
                shown = ImageOps.exif_transpose(image)
        except Exception:  # noqa: BLE001 - the pixels are fine; only the rotation is lost
            warnings.warn(
                ImageReadWarning(self.source, "damaged EXIF metadata was ignored"), stacklevel=3
            )
            shown = image
        with _pil_warnings(self.source, self.tiff):
            return _to_rgb_array(shown, self.source)


def _bomb(error: BaseException) -> str:
    # PIL words it "Image size (N pixels) exceeds limit of M pixels, could be ...".
    match = re.search(r"\((\d+) pixels\)", str(error))
    size = f"{int(match.group(1)) / 1e6:.0f} megapixels, " if match else ""
    return f"image too large to decode safely ({size}possible decompression bomb)"


def _file_scale(array: np.ndarray) -> float:
    """Full intensity in decoded pixels of unknown depth: 1, 255, 65535 or the peak.

    The rules of :mod:`alphacut.convert` (float ranges with 10 % slack for resampling
    overshoot, integer 0/1 masks), so a file reads like the same array handed to the core.
    One exception: the values that table refuses (beyond 16 bits, or negative) are still
    pixels when a file holds them, so they are scaled by their peak and clipped instead.
    """
    # Imported here: the reader keeps OpenCV, which convert loads, off the start-up path.
    from alphacut.convert import full_scale

    try:
        return full_scale(array)
    except ValueError:
        peak = float(array.max()) if array.size else 0.0
        return next((r for r in (1.0, 255.0, 65535.0) if peak <= r), peak)


def _unit_float(array: np.ndarray, source: str) -> np.ndarray:
    """Float pixels as float32 in [0, 1].

    Float images are usually 0..1, but some tools write 0..255 or 0..65535: clipping
    those to 1 would make the photo white. NaN or infinite pixels cannot be cut out.
    """
    array = np.asarray(array, np.float32)
    finite = np.isfinite(array)
    if not finite.all():
        if np.isnan(array).any():
            raise ImageReadError(source, "image holds NaN (not-a-number) pixel values")
        raise ImageReadError(source, "image holds infinite pixel values")
    return np.clip(array / np.float32(_file_scale(array)), 0.0, 1.0)


def _integer_to_unit(array: np.ndarray) -> np.ndarray:
    """Integer pixels of unknown depth (PIL's "I" mode, 32-bit TIFF) as float32 in [0, 1]."""
    scale = _file_scale(np.asarray(array))
    return np.clip(np.asarray(array, np.float32) / np.float32(scale), 0.0, 1.0)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def _to_rgb_array(image: Image.Image, source: str) -> np.ndarray:
    mode = image.mode
    if mode.startswith("I;16"):
        # 16-bit grey: keep the precision as float instead of truncating to 8 bits.
        return _grey_to_rgb(np.asarray(image, np.float32) / np.float32(65535))
    if mode == "I":
        return _grey_to_rgb(_integer_to_unit(np.asarray(image)))
    if mode == "F":
        return _grey_to_rgb(_unit_float(np.asarray(image), source))
    if mode in ("RGB", "RGBA") and image.info.get("transparency") is None:
        return np.ascontiguousarray(np.asarray(image)[..., :3])
    # Palette, CMYK, LAB, YCbCr, 1-bit, grey: let PIL convert, through RGBA where the
    # image carries transparency so palettes with a transparent index convert faithfully.
    if mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    return np.ascontiguousarray(np.asarray(image.convert("RGB")))


def _opencv_to_rgb(page: np.ndarray, source: str) -> np.ndarray:
    """An OpenCV page (BGR or BGRA, any depth) as RGB uint8 or float32 in [0, 1]."""
    if page.ndim == 3:
        page = page[..., 2::-1] if page.shape[2] >= 3 else page[..., 0]
    if page.dtype == np.uint8:
        rgb = page
    elif page.dtype == np.uint16:
        rgb = page.astype(np.float32) / np.float32(65535)
    elif np.issubdtype(page.dtype, np.floating):
        rgb = _unit_float(page, source)
    else:
        rgb = _integer_to_unit(page)
    if rgb.ndim == 2:
        rgb = _grey_to_rgb(rgb)
    return np.ascontiguousarray(rgb)


@contextmanager
def _open_file(path: str | os.PathLike) -> Iterator[tuple[BinaryIO, str]]:
    source = os.fspath(path)
    problem = input_problem(source)
    if problem is not None:
        raise ImageReadError(source, problem)
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below, after the frames are read
    except OSError as error:
        problem = input_problem(source) or f"cannot read ({error.strerror or error})"
        if isinstance(error, PermissionError):
            problem = "permission denied"
        raise ImageReadError(source, problem) from None
    with handle:
        yield handle, source


def _open_bytes(data: bytes, source: str) -> BinaryIO:
    if not data:
        raise ImageReadError(source, "empty input (0 bytes)")
    return io.BytesIO(data)


def _check_frame(info: ImageInfo, frame: int, source: str) -> None:
    if not 0 <= frame < info.frames:
        raise ImageReadError(source, f"has no frame {frame} (it has {info.frames})")


def _read_one(opener: Callable[[], BinaryIO], source: str, max_pixels: int, frame: int):
    decoder = _Decoder(opener(), source, max_pixels)
    _check_frame(decoder.info, frame, source)
    return decoder.frame(frame)


def probe_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Size, frame count and format of a photo, from its header (the pixels are not
    decoded, so damage further in shows only when reading).

    Parameters
    ----------
    path : str or os.PathLike
        The photo's file.
    max_pixels : int
        Largest width × height accepted (checked from the header, before decoding, against
        decompression bombs); default :data:`MAX_PIXELS`, 100 megapixels.

    Returns
    -------
    ImageInfo
        Width and height of the first frame (before EXIF rotation), frame count, format.

    Raises
    ------
    ImageReadError
        The file is missing, not a regular file, empty, not an image, or too large.
    """
    with _open_file(path) as (handle, source):
        return _Decoder(handle, source, max_pixels).info


def probe_image_bytes(
    data: bytes, *, source: str = "<stdin>", max_pixels: int = MAX_PIXELS
) -> ImageInfo:
    """Like :func:`probe_image` for an in-memory file (e.g. standard input).

    Parameters
    ----------
    data : bytes
        The whole file's content.
    source : str
        The name messages give the file.
    max_pixels : int
        Largest width × height accepted (checked from the header, before decoding, against
        decompression bombs); default :data:`MAX_PIXELS`, 100 megapixels.

    Returns
    -------
    ImageInfo
    """
    return _Decoder(_open_bytes(data, source), source, max_pixels).info


def read_image(
    path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS, frame: int = 0
) -> np.ndarray:
    """Read a photo as an HxWx3 RGB array (uint8, or float32 in [0, 1] for 16-bit and
    float files).

    EXIF orientation is applied; palette, grey, CMYK, RGBA (alpha dropped), 16-bit and
    float files are converted to RGB. Float pixels above 1 are taken as 0..255 (or
    0..65535), as some tools write them. Animations and multi-page files: ``frame``
    chooses the frame (:func:`probe_image` counts them, :func:`read_frames` reads all).

    Parameters
    ----------
    path : str or os.PathLike
        The photo's file.
    max_pixels : int
        Largest width × height accepted (checked from the header, before decoding, against
        decompression bombs); default :data:`MAX_PIXELS`, 100 megapixels.
    frame : int
        Index of the frame or page to read, from 0; only formats in
        :data:`MULTI_FRAME_FORMATS` have more than one.

    Returns
    -------
    ndarray
        HxWx3 RGB: uint8 for 8-bit files, float32 in [0, 1] for 16-bit and float ones.

    Raises
    ------
    ImageReadError
        With a one-line message naming the file: missing, empty, not a regular file,
        not an image, truncated, NaN pixels, or too large.

    Warns
    -----
    ImageReadWarning
        Once per problem that did not stop the reading, e.g. a damaged EXIF block.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "grey.png"
    >>> Image.fromarray(np.zeros((4, 6), np.uint8)).save(path)
    >>> read_image(path).shape
    (4, 6, 3)
    """
    with _open_file(path) as (handle, source):
        return _read_one(lambda: handle, source, max_pixels, frame)


def read_image_bytes(
    data: bytes, *, source: str = "<stdin>", max_pixels: int = MAX_PIXELS, frame: int = 0
) -> np.ndarray:
    """Like :func:`read_image` for an in-memory file (e.g. standard input).

    Parameters
    ----------
    data : bytes
        The whole file's content.
    source : str
        The name messages give the file.
    max_pixels : int
        Largest width × height accepted (checked from the header, before decoding, against
        decompression bombs); default :data:`MAX_PIXELS`, 100 megapixels.
    frame : int
        Index of the frame or page to read, from 0.

    Returns
    -------
    ndarray
        HxWx3 RGB, uint8 or float32 in [0, 1], as :func:`read_image` returns.
    """
    return _read_one(lambda: _open_bytes(data, source), source, max_pixels, frame)


def read_frames(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> Iterator[np.ndarray]:
    """Every frame of an animation or page of a multi-page file, in order, as
    :func:`read_image` reads one; a still picture gives one frame.

    The file stays open while the iterator lives, and frames are decoded one at a time.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    max_pixels : int
        Largest width × height accepted (checked from the header, before decoding, against
        decompression bombs); default :data:`MAX_PIXELS`, 100 megapixels. Applies to each frame.

    Yields
    ------
    ndarray
        HxWx3 RGB frames, uint8 or float32 in [0, 1], as :func:`read_image` returns them.
    """
    with _open_file(path) as (handle, source):
        decoder = _Decoder(handle, source, max_pixels)
        for index in range(decoder.info.frames):
            yield decoder.frame(index)


def read_frames_bytes(
    data: bytes, *, source: str = "<stdin>", max_pixels: int = MAX_PIXELS
) -> Iterator[np.ndarray]:
    """Like :func:`read_frames` for an in-memory file (e.g. standard input).

    Parameters
    ----------
    data : bytes
        The whole file's content.
    source : str
        The name messages give the file.
    max_pixels : int
        Largest width × height accepted (checked from the header, before decoding, against
        decompression bombs); default :data:`MAX_PIXELS`, 100 megapixels.

    Yields
    ------
    ndarray
        HxWx3 RGB frames, as :func:`read_image` returns them.
    """
    decoder = _Decoder(_open_bytes(data, source), source, max_pixels)
    for index in range(decoder.info.frames):
        yield decoder.frame(index)
