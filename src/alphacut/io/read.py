"""Reading photos into float RGB, whatever their mode, orientation or bit depth."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["ImageReadError", "read_image", "read_image_bytes", "MAX_PIXELS"]

# 100 megapixels: well above any camera's photo, well below what would exhaust memory
# (a 20000x20000 "decompression bomb" would need ~5 GB as float RGB).
MAX_PIXELS = 100_000_000


class ImageReadError(ValueError):
    """A photo could not be read; the message is one line naming the file and the problem."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def _decode(handle, source: str, max_pixels: int) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageReadError(
                    source,
                    f"image is {width}x{height} ({width * height / 1e6:.0f} megapixels), over "
                    f"the limit of {max_pixels / 1e6:.0f} megapixels (possible decompression bomb)",
                )
            image.load()
            image = ImageOps.exif_transpose(image)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(source, "not an image file, or a format that cannot be read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(
            source, f"too large to decode safely, possible decompression bomb ({error})"
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        # PIL reports truncated or corrupt data as OSError/SyntaxError with its own wording.
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ImageReadError(source, f"corrupt or truncated image ({reason})") from None
    return _to_rgb_array(image)


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit grey: keep the precision as float instead of truncating to 8 bits.
        array = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if array.max() > 255 or mode.startswith("I;16") else 255.0
        grey = np.clip(array / peak, 0, 1)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "F":
        grey = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode in ("RGB", "RGBA") and image.info.get("transparency") is None:
        array = np.asarray(image)
        return np.ascontiguousarray(array[..., :3])
    # Palette, CMYK, LAB, YCbCr, 1-bit, grey: let PIL convert, through RGBA where the
    # image carries transparency so palettes with a transparent index convert faithfully.
    if mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    return np.ascontiguousarray(np.asarray(image.convert("RGB")))


def read_image(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a photo as an HxWx3 RGB array (uint8, or float32 in [0, 1] for 16-bit files).

    EXIF orientation is applied; palette, grey, CMYK, RGBA (alpha dropped) and 16-bit files
    are converted to RGB.

    Raises
    ------
    ImageReadError
        With a one-line message naming the file: missing, empty, not an image, truncated,
        or too large.

    Examples
    --------
    >>> from skimage.data import data_dir
    >>> read_image(Path(data_dir) / "astronaut.png").shape
    (512, 512, 3)
    """
    source = str(path)
    path = Path(path)
    if not path.exists():
        raise ImageReadError(source, "no such file")
    if path.is_dir():
        raise ImageReadError(source, "is a folder, not an image")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImageReadError(source, f"cannot read ({error.strerror})") from None
    if size == 0:
        raise ImageReadError(source, "empty file (0 bytes)")
    try:
        with open(path, "rb") as handle:
            return _decode(handle, source, max_pixels)
    except PermissionError:
        raise ImageReadError(source, "permission denied") from None


def read_image_bytes(data: bytes, *, source: str = "<stdin>", max_pixels: int = MAX_PIXELS):
    """Like :func:`read_image` for an in-memory file (e.g. standard input)."""
    if not data:
        raise ImageReadError(source, "empty input (0 bytes)")
    return _decode(io.BytesIO(data), source, max_pixels)
