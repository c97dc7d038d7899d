"""Image operations the core shares: output to uint8, resizing, boxes, per-pixel products.

Input conversion (any dtype and layout to float32 RGB in [0, 1]) lives in
:mod:`alphacut.convert`; ``as_float_rgb``, ``read_float_rgb`` and ``full_scale`` are
re-exported here for code that imports them from this module.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

# Re-exported for compatibility: their home is alphacut.convert.
from alphacut.convert import as_float_rgb, full_scale, read_float_rgb

__all__ = [
    "as_float_rgb",
    "box_mask",
    "full_scale",
    "to_uint8",
    "pixel_dot",
    "read_float_rgb",
    "resize",
    "short_side",
    "tiles_holding",
    "within_tiles",
]


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


def tiles_holding(mask: np.ndarray, tile: int) -> list[tuple[int, int]]:
    """``(top, left)`` of the ``tile``-sized squares of a grid over ``mask`` that hold a
    True pixel.

    For work that only matters near a sparse region (an edge band): done tile by tile,
    its cost follows the region rather than the photo.

    Parameters
    ----------
    mask : ndarray
        bool HxW.
    tile : int
        Side of the squares, in pixels; the last row and column of tiles may be cut short
        by the mask's edge.

    Returns
    -------
    list of (int, int)
        Row-major order.

    Examples
    --------
    >>> mask = np.zeros((5, 7), bool); mask[4, 6] = True
    >>> tiles_holding(mask, 4)
    [(4, 4)]
    """
    h, w = mask.shape
    padded = np.zeros((-(-h // tile) * tile, -(-w // tile) * tile), bool)
    padded[:h, :w] = mask
    rows, cols = padded.shape[0] // tile, padded.shape[1] // tile
    # Reducing the contiguous axis first: any() over both at once is several times slower.
    found = padded.reshape(rows, tile, cols, tile).any(axis=3).any(axis=1)
    return [(int(r) * tile, int(c) * tile) for r, c in zip(*np.nonzero(found), strict=True)]


def within_tiles(
    out: np.ndarray,
    near: np.ndarray,
    compute: Callable[[slice, slice], np.ndarray],
    *,
    tile: int,
    halo: int,
) -> np.ndarray:
    """Fill ``out`` by ``compute`` in the tiles (:func:`tiles_holding`) that hold a True
    pixel of ``near``; elsewhere ``out`` is left as it is.

    ``compute(rows, cols)`` gets a tile's rows and columns grown by ``halo`` on every side
    (clipped to the image) and returns its result for that crop; only the tile's own part
    is kept. For a local operation whose output at a pixel depends on pixels at most
    ``halo`` away, and whose crop edges are treated as the whole image's are where they
    coincide, the tiles then hold exactly the whole image's values.

    Parameters
    ----------
    out : ndarray
        HxW or HxWxC array to fill (returned).
    near : ndarray
        bool HxW, where the result is needed.
    compute : callable
        ``(rows, cols) -> ndarray`` of the crop's height and width.
    tile, halo : int
        Tile side and the margin each crop reaches beyond its tile, in pixels.

    Returns
    -------
    ndarray
        ``out``.

    Examples
    --------
    >>> image = np.arange(20.0).reshape(4, 5)
    >>> near = np.zeros((4, 5), bool); near[0, 0] = True
    >>> within_tiles(np.zeros((4, 5)), near, lambda r, c: image[r, c] * 2, tile=2, halo=1)[:2, :3]
    array([[ 0.,  2.,  0.],
           [10., 12.,  0.]])
    """
    height, width = near.shape
    for top, left in tiles_holding(near, tile):
        bottom, right = min(top + tile, height), min(left + tile, width)
        lo, hi = max(top - halo, 0), min(bottom + halo, height)
        start, stop = max(left - halo, 0), min(right + halo, width)
        part = compute(slice(lo, hi), slice(start, stop))
        out[top:bottom, left:right] = part[top - lo : bottom - lo, left - start : right - start]
    return out
