"""Reading photos (any mode PIL knows, EXIF orientation applied) and writing results
atomically (PNG/WebP with transparency, JPEG flattened)."""

from alphacut.io.read import ImageReadError, read_image, read_image_bytes
from alphacut.io.write import ImageWriteError, encode_image, write_image

__all__ = [
    "ImageReadError",
    "ImageWriteError",
    "encode_image",
    "read_image",
    "read_image_bytes",
    "write_image",
]
