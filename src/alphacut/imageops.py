"""Conversions between the image layouts that callers hand us and the one the core works in.

The core works on float32 RGB in [0, 1], channel last (scikit-image's convention), so every
method can assume one layout and callers may pass uint8, uint16, float, grey or RGBA.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "as_float_rgb",
    "box_mask",
    "full_scale",
    "to_uint8",
    "pixel_dot",
    "read_float_rgb",
    "resize",
    "short_side",
]

# The ranges float and wide-integer pixels are stored in, smallest first: 0..1 (the
# usual float convention), 0..255 (8-bit values kept as float) and 0..65535 (16-bit).
_RANGES = (1.0, 255.0, 65535.0)
# Float pixels may overshoot their range by this share of it: cubic and Lanczos resampling
# ring around sharp edges (OpenCV's bicubic by up to ~8 %). Such values are clipped; a
# range picked by the overshoot (1.02 -> 0..255) would turn the photo black.
_FLOAT_SLACK = 0.1


def full_scale(image: np.ndarray) -> float:
    """The value that stands for full intensity in ``image``: 1, 255 or 65535.

    The dtype decides where it can (uint8 255, uint16 65535, bool 1); other integers and
    floats are read by their range, as :func:`as_float_rgb` documents. Use it to convert
    parts of a photo (a border strip, a sample) consistently with the whole.

    Parameters
    ----------
    image : ndarray
        Pixel values of any shape.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        NaN or infinite values, negative values, or values beyond 0..65535.
    TypeError
        A dtype that holds no pixel values (complex, object, strings).

    Examples
    --------
    >>> full_scale(np.array([0.0, 0.5, 1.0])), full_scale(np.array([0.0, 128.0, 200.0]))
    (1.0, 255.0)
    """
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return 255.0
    if array.dtype == np.uint16:
        return 65535.0
    if array.dtype == bool:
        return 1.0
    floating = np.issubdtype(array.dtype, np.floating)
    if not floating and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"unsupported image dtype {array.dtype}")
    if array.size == 0:
        return 1.0 if floating else 255.0
    # Two reductions and no temporary: NaN propagates through min and max, and infinities
    # show up in them, so no separate isfinite pass over the photo is needed.
    low, high = float(np.min(array)), float(np.max(array))
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError("image contains NaN or infinite values")
    slack = _FLOAT_SLACK if floating else 0.0
    # Integers are 8-bit or 16-bit values in a wider type (PIL's 32-bit "I" mode): a 0/1
    # integer image is a very dark 8-bit one, not a unit-range one.
    ranges = _RANGES if floating else _RANGES[1:]
    scale = next((r for r in ranges if high <= r * (1 + slack)), None)
    if scale is None:
        raise ValueError(
            f"image values reach {high:g}, beyond any known pixel range (0..1, 0..255 or "
            "0..65535); scale the image to 0..1 first"
        )
    # Ringing below 0 is a share of the edge's contrast, so of the peak, not of the range:
    # a normalised tensor (-2.1..2.6) must not pass for a dark 0..255 photo.
    if low < -slack * high:
        raise ValueError(
            f"image has negative values (down to {low:g}); pixel values must be 0..1, "
            "0..255 or 0..65535 (a normalised or signed array must be scaled back first)"
        )
    return scale


def as_float_rgb(image: np.ndarray, *, scale: float | None = None) -> np.ndarray:
    """Return ``image`` as a new float32 HxWx3 RGB array in [0, 1].

    Parameters
    ----------
    image : ndarray
        HxW grey, HxWx3 RGB or HxWx4 RGBA (the alpha is ignored). The dtype and, where the
        dtype does not say, the values decide the range (see :func:`full_scale`):

        * uint8 is 0..255, uint16 0..65535 and bool 0/1;
        * other integers (int32, int64, ...) are 0..255 when their maximum is at most 255,
          else 0..65535; negative values or values beyond 65535 raise ``ValueError``;
        * floats are 0..1 when their maximum is at most 1, else 0..255 when at most 255,
          else 0..65535 when at most 65535, each range allowing 10 % of overshoot
          (resampling filters ring around edges), which is clipped. Larger values raise
          ``ValueError``, as do values below -10 % of the peak value (a signed or
          normalised array, which cannot be read as a photo) and NaN or infinite values,
          which have no colour to stand for.
    scale : float, optional
        The value of full intensity, skipping the detection: for converting part of a
        photo with the scale :func:`full_scale` found for the whole of it.

    Returns
    -------
    ndarray
        float32 HxWx3, never a view of ``image``, so callers may modify it.

    Raises
    ------
    ValueError
        A shape that is not an image, or values outside every known range (see above).
    TypeError
        A dtype that holds no pixel values.

    Examples
    --------
    >>> as_float_rgb(np.full((2, 2), 255, np.uint8)).shape
    (2, 2, 3)
    >>> float(as_float_rgb(np.full((1, 1, 3), 127.5))[0, 0, 0])  # float 0..255
    0.5
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"expected an HxW, HxWx3 or HxWx4 image, got an array of shape {array.shape}"
        )
    # The range is read from the colour channels only: an alpha channel may use another.
    colour = array[..., :3]
    if scale is None:
        scale = full_scale(colour)
    channels = colour if array.shape[2] >= 3 else np.repeat(array, 3, axis=2)
    # astype copies, so the input stays untouched and the result may be modified in place.
    result = channels.astype(np.float32)
    if scale != 1.0:
        result /= np.float32(scale)
    if np.issubdtype(array.dtype, np.floating):
        # The tolerated overshoot of float input.
        np.clip(result, 0.0, 1.0, out=result)
    return result


def read_float_rgb(image: np.ndarray) -> np.ndarray:
    """Like :func:`as_float_rgb`, but float32 HxWx3 input in [0, 1] is returned itself.

    For read-only use inside the core, where the same photo passes through several steps:
    each :func:`as_float_rgb` copy of a 12-megapixel photo costs 144 MB and tens of
    milliseconds.

    Parameters
    ----------
    image : ndarray
        Any layout and dtype :func:`as_float_rgb` takes.

    Returns
    -------
    ndarray
        float32 HxWx3 in [0, 1]: ``image`` itself when it already is one, else a new array.
        The caller must not modify it.

    Examples
    --------
    >>> rgb = np.zeros((2, 2, 3), np.float32)
    >>> read_float_rgb(rgb) is rgb
    True
    >>> white = read_float_rgb(np.full((2, 2, 3), 255, np.uint8))
    >>> white.dtype, float(white.max())
    (dtype('float32'), 1.0)
    """
    if (
        isinstance(image, np.ndarray)
        and image.dtype == np.float32
        and image.ndim == 3
        and image.shape[2] == 3
        and image.size
    ):
        # OpenCV's scans are several times faster than NumPy's; its min/max may skip a
        # NaN, but the sum cannot.
        rows = image.reshape(image.shape[0], -1)
        low, high, _, _ = cv2.minMaxLoc(rows)
        if low >= 0.0 and high <= 1.0 and np.isfinite(cv2.sumElems(rows)[0]):
            return image
    return as_float_rgb(image)


def to_uint8(array: np.ndarray) -> np.ndarray:
    """Round a float array in [0, 1] to uint8 (values outside are clipped, NaN gives 0).

    Parameters
    ----------
    array : array_like
        Values in [0, 1], any shape (an HxW or HxWxC image, or a plain vector).

    Returns
    -------
    ndarray
        uint8 of the same shape, 0..255, rounded half to even.

    Examples
    --------
    >>> to_uint8(np.array([-0.5, 0.5, 2.0])).tolist()
    [0, 128, 255]
    """
    values = np.clip(np.asarray(array, np.float32), 0.0, 1.0)
    if values.ndim in (2, 3) and values.size:
        # Images: OpenCV's saturating conversion rounds half to even like np.rint, in one
        # pass instead of three (a third of the time on a 1 MP RGBA cut-out).
        return cv2.convertScaleAbs(values, alpha=255).reshape(values.shape)
    return np.nan_to_num(np.rint(values * 255), nan=0.0).astype(np.uint8)


def pixel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel dot product of two HxWxC float32 images, as an HxW float32 image.

    OpenCV's multiply and channel-summing transform are several times faster than
    ``np.einsum("hwc,hwc->hw", a, b)`` on multi-megapixel photos.

    Parameters
    ----------
    a, b : ndarray
        float32 HxWxC of the same shape.

    Returns
    -------
    ndarray
        float32 HxW: ``sum(a * b, axis=-1)``.
    """
    return cv2.transform(cv2.multiply(a, b), np.ones((1, a.shape[2]), np.float32))


def box_mask(shape: tuple[int, ...], rect: tuple[int, int, int, int]) -> np.ndarray:
    """Boolean HxW mask of the part of an ``(x, y, width, height)`` box inside the image.

    Parameters
    ----------
    shape : tuple of int
        The image's shape; only its first two entries (height, width) are used.
    rect : tuple of int
        ``(x, y, width, height)`` in pixels, x and y from the top-left corner; it may reach
        beyond the image on any side, and the part outside is dropped.

    Returns
    -------
    ndarray
        bool HxW, True inside the box.

    Examples
    --------
    >>> box_mask((3, 4), (-1, 1, 3, 5)).astype(int).tolist()
    [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]]
    """
    x, y, w, h = (int(v) for v in rect)
    inside = np.zeros(shape[:2], bool)
    inside[max(0, y) : max(0, y + h), max(0, x) : max(0, x + w)] = True
    return inside


def short_side(shape: tuple[int, ...]) -> int:
    """Length of the shorter of the first two axes of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        An image's shape, ``(height, width, ...)``.

    Returns
    -------
    int
        ``min(height, width)`` in pixels.
    """
    return int(min(shape[0], shape[1]))


def resize(
    array: np.ndarray, size: tuple[int, int], *, interpolation: str = "linear"
) -> np.ndarray:
    """Resize an HxW or HxWxC float/uint8 array.

    OpenCV is used because it is an order of magnitude faster than
    ``skimage.transform.resize`` on multi-megapixel photos.

    Parameters
    ----------
    array : ndarray
        HxW or HxWxC, uint8 or float32/float64.
    size : tuple of int
        ``(height, width)`` of the result, in pixels.
    interpolation : {"linear", "area", "nearest"}
        Bilinear (default); pixel-area averaging, for shrinking without aliasing; or
        nearest neighbour, for labels that must not be blended.

    Returns
    -------
    ndarray
        The same dtype, ``size`` high and wide (an HxWx1 array comes back HxW when the
        size changes); a copy even when the size is unchanged.
    """
    flags = {"linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST}
    height, width = size
    if array.shape[:2] == (height, width):
        return array.copy()
    return cv2.resize(array, (int(width), int(height)), interpolation=flags[interpolation])
