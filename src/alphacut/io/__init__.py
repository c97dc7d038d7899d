"""Reading photos (any mode PIL knows, EXIF orientation applied, every frame of an
animation) and writing results atomically (PNG/WebP with transparency, JPEG flattened).

Errors and warnings are one line naming the file; :func:`display` makes a name safe to
print (control characters and bidirectional overrides escaped).
"""

from alphacut.io.paths import display
from alphacut.io.read import (
    ImageInfo,
    ImageReadError,
    ImageReadWarning,
    probe_image,
    probe_image_bytes,
    read_frames,
    read_frames_bytes,
    read_image,
    read_image_bytes,
)
from alphacut.io.write import ImageWriteError, check_output, encode_image, write_image

__all__ = [
    "ImageInfo",
    "ImageReadError",
    "ImageReadWarning",
    "ImageWriteError",
    "check_output",
    "display",
    "encode_image",
    "probe_image",
    "probe_image_bytes",
    "read_frames",
    "read_frames_bytes",
    "read_image",
    "read_image_bytes",
    "write_image",
]
