"""Writers of bad and unusual image files, and what ``alphacut`` must do with each.

Every file is made from numbers at test time, so nothing binary is committed and each
case says in code what is odd about it. :data:`INPUT_CASES` lists the files that a batch
over one folder checks together: each with the outcome a user must see.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage.data import astronaut

__all__ = [
    "InputCase",
    "INPUT_CASES",
    "photo",
    "save",
    "png_with_header",
    "jpeg_claiming",
    "frame_photo",
]

ORIENTATION = 0x0112


def photo(size: int = 96) -> np.ndarray:
    """A real photo of a person, small so that the whole corpus runs in seconds."""
    image = Image.fromarray(astronaut()).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image)


def save(path: Path, image: Image.Image | np.ndarray, **options) -> Path:
    """Save ``image`` with PIL; the format follows ``options`` or the suffix."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image.save(path, **options)
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return struct.pack(">I", len(data)) + kind + data + crc


def png_with_header(path: Path, width: int, height: int, payload: bytes = b"\0" * 64) -> Path:
    """A valid PNG signature and IHDR claiming ``width`` x ``height`` with a tiny IDAT:
    the decompression-bomb shape, without the memory a real one would need."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(payload))
        + _chunk(b"IEND", b"")
    )
    return path


def jpeg_claiming(path: Path, width: int, height: int) -> Path:
    """A small JPEG whose frame header (SOF0) claims another size."""
    buffer = BytesIO()
    Image.fromarray(photo(32)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def _damaged_exif() -> bytes:
    """An EXIF block whose description tag points past its end: PIL warns about it (twice,
    over two lines each) but the pixels are fine."""
    entries = [
        struct.pack("<HHLL", 0x010E, 2, 40, 0x400),  # ImageDescription, 40 bytes, far away
        struct.pack("<HHLHH", ORIENTATION, 3, 1, 1, 0),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<L", 0)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<L", 8) + ifd + b"\0" * 16


def _rotated(path: Path, orientation: int) -> Path:
    image = Image.fromarray(photo()[:, :64])  # 64 wide, 96 high: rotation swaps them
    exif = image.getexif()
    exif[ORIENTATION] = orientation
    return save(path, image, exif=exif, quality=92)


def _truncated(path: Path, fmt: str, keep: float = 0.4) -> Path:
    buffer = BytesIO()
    Image.fromarray(photo()).save(buffer, format=fmt)
    data = buffer.getvalue()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _float_tiff(path: Path, scale: float, nan: bool = False, inf: bool = False) -> Path:
    # OpenCV writes 3-sample float32 TIFFs, a layout PIL cannot open at all.
    rgb = photo().astype(np.float32) / 255 * scale
    if nan:
        rgb[10:20, 10:20, 1] = np.nan
    if inf:
        rgb[5, 5, 0] = np.inf
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))
    return path


def _float_grey_tiff(path: Path, scale: float, nan: bool = False) -> Path:
    grey = np.asarray(Image.fromarray(photo()).convert("L"), np.float32) / 255 * scale
    if nan:
        grey[0, :] = np.nan
    return save(path, Image.fromarray(grey, mode="F"))


def _sixteen_bit(path: Path) -> Path:
    deep = photo().astype(np.uint16) * 257
    assert cv2.imwrite(str(path), np.ascontiguousarray(deep[..., ::-1]))
    return path


def _frames(path: Path, count: int = 3, **options) -> Path:
    base = photo()
    # Frames must differ, or the GIF and WebP encoders merge them into one.
    frames = [Image.fromarray(np.roll(base, 12 * k, axis=1)) for k in range(count)]
    frames[0].save(path, save_all=True, append_images=frames[1:], **options)
    return path


def _bad_crc(path: Path) -> Path:
    buffer = BytesIO()
    Image.fromarray(photo()).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # flips compressed pixels; the chunk's CRC no longer matches
    path.write_bytes(bytes(data))
    return path


def _symlink(path: Path, target: str) -> Path:
    os.symlink(target, path)
    return path


def _loop(path: Path) -> Path:
    other = path.with_name(f".{path.name}.other")
    os.symlink(path.name, other)
    os.symlink(other.name, path)
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _bytes(data: bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return make


def frame_photo(border: int = 25) -> np.ndarray:
    """A real photo inside a ``border``-pixel pure green frame: not a green screen, since
    the subject does not stand in front of it."""
    inner = photo(200)
    framed = np.empty((200 + 2 * border, 200 + 2 * border, 3), np.uint8)
    framed[:] = (0, 255, 0)
    framed[border:-border, border:-border] = inner
    return framed


# What a written output must show: (image as RGBA array) -> problem, or None when fine.
Check = Callable[[np.ndarray], "str | None"]


def _not_blank(rgba: np.ndarray) -> str | None:
    """The cut-out keeps a subject in the photo's own colours (not white, not empty)."""
    alpha = rgba[..., 3]
    if (alpha == 0).mean() > 0.99:
        return "cut-out is more than 99% transparent"
    seen = rgba[..., :3][alpha > 128]
    if seen.size and seen.mean() > 240:
        return f"the kept pixels are white (mean {seen.mean():.0f}): values were clipped"
    return None


def _size(width: int, height: int) -> Check:
    def check(rgba: np.ndarray) -> str | None:
        if rgba.shape[:2] != (height, width):
            return f"expected {width}x{height}, got {rgba.shape[1]}x{rgba.shape[0]}"
        return None

    return check


@dataclass(frozen=True)
class InputCase:
    """One input file of the folder batch and the outcome the user must see.

    Attributes
    ----------
    name : str
        The file name inside the batch folder (the test id).
    make : callable
        ``make(path) -> path`` writes the file (or link, or pipe).
    error : str or None
        ``None`` when the photo must be cut out; else a regular expression that the one
        line reporting this file must match after its name.
    frames : int
        How many numbered outputs an animation or multi-page file gives.
    checks : tuple of callables
        Checks on each written output (an RGBA array), returning a problem or ``None``.
    """

    name: str
    make: Callable[[Path], Path]
    error: str | None = None
    frames: int = 1
    checks: tuple[Check, ...] = field(default_factory=tuple)


def _pil(fmt: str | None = None, mode: str | None = None, **options) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        image = Image.fromarray(photo())
        if mode is not None:
            image = image.convert(mode)
        if fmt is not None:
            options["format"] = fmt
        return save(path, image, **options)

    return make


def _palette_transparent(path: Path) -> Path:
    image = Image.fromarray(photo()).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    return save(path, image, transparency=0)


def _rgba_png(path: Path) -> Path:
    rgba = np.dstack([photo(), np.full((96, 96), 255, np.uint8)])
    rgba[:10, :, 3] = 0
    return save(path, rgba)


def _bad_exif(path: Path) -> Path:
    return save(path, photo(), exif=_damaged_exif(), quality=92)


def _thin(width: int, height: int) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        return save(path, np.full((height, width, 3), 128, np.uint8))

    return make


def _named_bad(path: Path) -> Path:
    path.write_text("not a photo, and a name with a control character\n")
    return path


NOT_AN_IMAGE = r"not an image"
CORRUPT = r"(corrupt|truncated|damaged)"
BOMB = r"decompression bomb"

INPUT_CASES: tuple[InputCase, ...] = (
    # Unusual but valid: each must be cut out, in the right orientation and colours.
    InputCase("cmyk.jpg", _pil("JPEG", "CMYK"), checks=(_not_blank,)),
    InputCase("rgb16.png", _sixteen_bit, checks=(_not_blank,)),
    InputCase("rgb16-tiff.tif", _sixteen_bit, checks=(_not_blank,)),
    InputCase("grey16.png", lambda p: save(p, (photo()[..., 1].astype(np.uint16) * 257))),
    InputCase("palette-transparent.png", _palette_transparent, checks=(_not_blank,)),
    InputCase("grey-alpha.png", _pil(mode="LA")),
    InputCase("grey.png", _pil(mode="L")),
    InputCase("bilevel.png", _pil(mode="1")),
    InputCase("rgba.png", _rgba_png, checks=(_not_blank,)),
    InputCase("exif-rotated-6.jpg", lambda p: _rotated(p, 6), checks=(_size(96, 64),)),
    InputCase("exif-rotated-3.jpg", lambda p: _rotated(p, 3), checks=(_size(64, 96),)),
    InputCase("exif-rotated-8.jpg", lambda p: _rotated(p, 8), checks=(_size(96, 64),)),
    InputCase("exif-orientation-99.jpg", lambda p: _rotated(p, 99), checks=(_size(64, 96),)),
    InputCase("damaged-exif.jpg", _bad_exif, checks=(_not_blank,)),
    InputCase("progressive.jpg", _pil("JPEG", progressive=True), checks=(_not_blank,)),
    InputCase("png-inside.jpg", _pil("PNG"), checks=(_not_blank,)),
    InputCase("single.gif", _pil("GIF")),
    InputCase("alpha.webp", _rgba_png, checks=(_not_blank,)),
    InputCase("photo.bmp", _pil("BMP"), checks=(_not_blank,)),
    InputCase("photo-tiff.tiff", _pil("TIFF"), checks=(_not_blank,)),
    InputCase("UPPER.JPG", _pil("JPEG"), checks=(_not_blank,)),
    InputCase("space and ünïcode.jpg", _pil("JPEG")),
    InputCase("tiny-8x8.png", _thin(8, 8)),
    InputCase("float-0-255.tif", lambda p: _float_tiff(p, 255.0), checks=(_not_blank,)),
    InputCase("float-0-1.tif", lambda p: _float_tiff(p, 1.0), checks=(_not_blank,)),
    InputCase("float-grey-0-255.tif", lambda p: _float_grey_tiff(p, 255.0), checks=(_not_blank,)),
    # Animations and multi-page files: every frame, to numbered outputs.
    InputCase("animated.gif", lambda p: _frames(p, 3, duration=100, loop=0), frames=3),
    InputCase("animated-webp.webp", lambda p: _frames(p, 3, duration=100, loop=0), frames=3),
    InputCase("animated-png.png", lambda p: _frames(p, 2, duration=100), frames=2),
    InputCase("pages.tif", lambda p: _frames(p, 2), frames=2),
    # Bad: one line each, naming the file and the problem; nothing written.
    InputCase("empty.jpg", _bytes(b""), error=r"empty file \(0 bytes\)"),
    InputCase("truncated-jpeg.jpg", lambda p: _truncated(p, "JPEG"), error=CORRUPT),
    InputCase("truncated-png.png", lambda p: _truncated(p, "PNG"), error=CORRUPT),
    InputCase("truncated-gif.gif", lambda p: _truncated(p, "GIF", 0.3), error=CORRUPT),
    InputCase("truncated-tiff.tif", lambda p: _truncated(p, "TIFF", 0.5), error=CORRUPT),
    InputCase("truncated-webp.webp", lambda p: _truncated(p, "WEBP", 0.5), error=CORRUPT),
    InputCase("header-only.jpg", _bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"), error=CORRUPT),
    InputCase("bad-crc.png", _bad_crc, error=CORRUPT),
    InputCase("text.png", _bytes(b"this is not an image\n"), error=NOT_AN_IMAGE),
    InputCase("page.jpg", _bytes(b"<!DOCTYPE html><html>404</html>"), error=NOT_AN_IMAGE),
    InputCase("document.png", _bytes(b"%PDF-1.4\n1 0 obj\n"), error=NOT_AN_IMAGE),
    InputCase("noise.webp", _bytes(np.random.default_rng(3).bytes(4000)), error=NOT_AN_IMAGE),
    InputCase("bomb-png.png", lambda p: png_with_header(p, 20000, 20000), error=BOMB),
    InputCase("bomb-warning.png", lambda p: png_with_header(p, 9500, 9500), error=BOMB),
    InputCase("bomb-jpeg.jpg", lambda p: jpeg_claiming(p, 65000, 65000), error=BOMB),
    InputCase("zero-width.png", lambda p: png_with_header(p, 0, 10), error=CORRUPT),
    InputCase("one-wide.png", _thin(1, 300), error=r"too small.*\b1x300\b"),
    InputCase("one-high.png", _thin(300, 1), error=r"too small.*\b300x1\b"),
    InputCase("float-nan.tif", lambda p: _float_tiff(p, 255.0, nan=True), error=r"NaN"),
    InputCase("float-inf.tif", lambda p: _float_tiff(p, 1.0, inf=True), error=r"infinit"),
    InputCase("float-grey-nan.tif", lambda p: _float_grey_tiff(p, 1.0, nan=True), error=r"NaN"),
    InputCase("dangling.jpg", lambda p: _symlink(p, "gone.jpg"), error=r"broken symbolic link"),
    InputCase("loop.jpg", _loop, error=r"symbolic link loop"),
    InputCase("pipe.png", _fifo, error=r"not a regular file \(a named pipe\)"),
    InputCase("new\nline.jpg", _named_bad, error=NOT_AN_IMAGE),
    InputCase("evil\u202egpj.png", _named_bad, error=NOT_AN_IMAGE),
    InputCase("bell\a.png", _named_bad, error=NOT_AN_IMAGE),
    InputCase(os.fsdecode(b"latin1-\xe9t\xe9.png"), _named_bad, error=NOT_AN_IMAGE),
)
