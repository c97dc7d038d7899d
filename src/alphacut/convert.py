"""Input conversion: what callers hand the core (images, alphas, trimaps, ground truths)
brought to the layouts the core works in.

The core works on float32 in [0, 1]: RGB images HxWx3, channel last (scikit-image's
convention), alphas and trimaps HxW. Callers may pass any of the dtypes below; one set of
rules reads all four kinds of input, so a matte converts the same way whether it is fed to
refinement, compared in a metric or loaded as a ground truth.

=================  ===============================  ===================================
dtype              full intensity (1.0 here)        refused (``ValueError``)
=================  ===============================  ===================================
uint8              255                              --
uint16             65535                            --
bool               True                             --
other integers     by range: a peak of at most 1    negative values, values above 65535
                   -> 1 (a 0/1 mask), at most 255
                   -> 255, else 65535
floats             by range, with 10 % slack: a     NaN, infinities, values beyond
                   peak of at most 1.1 -> 1, at     72088.5, values below -10 % of the
                   most 280.5 -> 255, else 65535;   peak (of 1 if the peak is smaller):
                   the overshoot is clipped         a signed or normalised array
other dtypes       --                               all: complex, object, strings
                                                    (``TypeError``)
=================  ===============================  ===================================

Values outside these rules raise ``ValueError``: none of them has a colour or an opacity
to stand for, and guessing one hands back a white, black or empty picture without a word.
The dtype decides where it can: a dark uint16 photo stays dark. The slack on float ranges
covers resampling (OpenCV's bicubic rings up to ~8 % past sharp edges); picking a range by
the overshoot (1.02 -> 0..255) would turn a photo black.

Per kind of input, after the scale:

* image (:func:`as_float_rgb`): HxW grey, HxWx3 RGB or HxWx4 RGBA; the colour channels
  alone decide the range (an alpha channel may use another); grey is repeated to RGB.
* alpha (:func:`as_alpha`): HxW, or HxWxC whose first channel is used.
* trimap (:func:`as_trimap`): as an alpha; 0 is background, full intensity (or more)
  foreground, anything between unknown.
* ground truth (:func:`as_truth_alpha`): as an alpha, or labels, any non-zero label being
  subject.

A mask is taken from an alpha as ``alpha >= MASK_THRESHOLD`` (:attr:`alphacut.Matte.mask`,
the metrics' IoU, the trimap's hard-step contour).

Examples
--------
The same values convert alike whatever they are read as:

>>> eight_bit = np.array([[0, 51, 255]], np.uint8)
>>> as_alpha(eight_bit).tolist() == as_float_rgb(eight_bit)[..., 0].tolist()
True
>>> as_alpha(np.array([[0.0, 127.5, 255.0]])).tolist()  # float 0..255, not clipped
[[0.0, 0.5, 1.0]]
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "MASK_THRESHOLD",
    "as_alpha",
    "as_float_rgb",
    "as_trimap",
    "as_truth_alpha",
    "full_scale",
    "read_alpha",
    "read_float_rgb",
]

MASK_THRESHOLD = 0.5
"""Alpha at and above which a pixel belongs to the subject's mask."""

# The ranges float and wide-integer values are stored in, smallest first: 0..1 (the usual
# float convention, and 0/1 masks), 0..255 (8-bit values kept in a wider type) and
# 0..65535 (16-bit).
_RANGES = (1.0, 255.0, 65535.0)
# Float values may overshoot their range by this share of it (see the module docstring).
_FLOAT_SLACK = 0.1


def _scan(array: np.ndarray, what: str) -> tuple[float, bool]:
    """:func:`full_scale`, naming ``what`` (image, alpha, ...) in its errors, and whether
    any value lies outside 0..scale (float overshoot, to be clipped)."""
    if array.dtype == np.uint8:
        return 255.0, False
    if array.dtype == np.uint16:
        return 65535.0, False
    if array.dtype == bool:
        return 1.0, False
    floating = np.issubdtype(array.dtype, np.floating)
    if not floating and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"unsupported {what} dtype {array.dtype}")
    if array.size == 0:
        return 1.0, False
    # Two reductions and no temporary: NaN propagates through min and max, and infinities
    # show up in them, so no separate isfinite pass over the photo is needed.
    low, high = float(np.min(array)), float(np.max(array))
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{what} contains NaN or infinite values")
    slack = _FLOAT_SLACK if floating else 0.0
    scale = next((r for r in _RANGES if high <= r * (1 + slack)), None)
    if scale is None:
        raise ValueError(
            f"{what} values reach {high:g}, beyond any known pixel range (0..1, 0..255 or "
            f"0..65535); scale the {what} to 0..1 first"
        )
    # Ringing below 0 is a share of the edge's contrast, so of the peak, not of the range:
    # a normalised tensor (-2.1..2.6) must not pass for a dark 0..255 photo. The peak
    # counts as at least 1, so a near-empty matte may carry rounding noise below 0.
    if low < -slack * max(high, 1.0):
        raise ValueError(
            f"{what} has negative values (down to {low:g}); values must be 0..1, 0..255 "
            "or 0..65535 (a normalised or signed array must be scaled back first)"
        )
    return scale, low < 0 or high > scale


def full_scale(image: np.ndarray) -> float:
    """The value that stands for full intensity in ``image``: 1, 255 or 65535.

    The dtype decides where it can (uint8 255, uint16 65535, bool 1); other integers and
    floats are read by their range, as the module's table says. Use it to convert parts
    of a photo (a border strip, a sample) consistently with the whole.

    Parameters
    ----------
    image : ndarray
        Values of any shape (pixels, an alpha, a trimap).

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
    >>> full_scale(np.array([0, 1])), full_scale(np.array([0, 1], np.uint8))  # int 0/1: a mask
    (1.0, 255.0)
    """
    return _scan(np.asarray(image), "image")[0]


def as_float_rgb(image: np.ndarray, *, scale: float | None = None) -> np.ndarray:
    """Return ``image`` as a new float32 HxWx3 RGB array in [0, 1].

    Parameters
    ----------
    image : ndarray
        HxW grey, HxWx3 RGB or HxWx4 RGBA (the alpha is ignored), of any dtype in the
        module's table; the colour channels decide the range.
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
        A shape that is not an image, or values the module's table refuses.
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
    # Float input may overshoot its range; with a given scale, whether it does is unknown.
    overshoot = np.issubdtype(array.dtype, np.floating)
    if scale is None:
        scale, overshoot = _scan(colour, "image")
    channels = colour if array.shape[2] >= 3 else np.repeat(array, 3, axis=2)
    # astype copies, so the input stays untouched and the result may be modified in place.
    result = channels.astype(np.float32)
    if scale != 1.0:
        result /= np.float32(scale)
    if overshoot:
        np.clip(result, 0.0, 1.0, out=result)
    return result


def _is_unit_float32(array: np.ndarray) -> bool:
    """Whether float32 ``array`` (2-D or 3-D, not empty) lies in [0, 1] with no NaN."""
    # OpenCV's scans are several times faster than NumPy's; its min/max may skip a NaN,
    # but the sum cannot.
    rows = array.reshape(array.shape[0], -1)
    low, high, _, _ = cv2.minMaxLoc(rows)
    return low >= 0.0 and high <= 1.0 and bool(np.isfinite(cv2.sumElems(rows)[0]))


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
        and _is_unit_float32(image)
    ):
        return image
    return as_float_rgb(image)


def _plane(array: np.ndarray, what: str) -> np.ndarray:
    """``array`` as HxW: the first channel of an HxWxC array."""
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"{what} must be HxW (or HxWxC), got shape {array.shape}")
    return array


def as_alpha(alpha: np.ndarray) -> np.ndarray:
    """Return ``alpha`` as a new float32 HxW array in [0, 1].

    Parameters
    ----------
    alpha : ndarray
        HxW, or HxWxC whose first channel is used, of any dtype in the module's table:
        uint8 is 0..255, uint16 0..65535, bool 0/1, other integers and floats are read by
        their range (a float alpha holding 0..255 is scaled, not clipped to white).

    Returns
    -------
    ndarray
        float32 HxW, never a view of ``alpha``, so callers may modify it.

    Raises
    ------
    ValueError
        A shape that is not HxW(xC), or values the module's table refuses (NaN among them).
    TypeError
        A dtype that holds no values.

    Examples
    --------
    >>> as_alpha(np.array([[0, 32768, 65535]], np.uint16)).round(3).tolist()
    [[0.0, 0.5, 1.0]]
    >>> as_alpha(np.array([[-0.02, 0.5, 1.03]])).tolist()  # resampling overshoot
    [[0.0, 0.5, 1.0]]
    """
    array = _plane(alpha, "alpha")
    scale, overshoot = _scan(array, "alpha")
    out = array.astype(np.float32)  # a copy, so callers may modify it
    if scale != 1.0:
        out /= np.float32(scale)
    if overshoot:
        # In-place min/max: np.clip on a 12-megapixel array is several times slower.
        np.maximum(out, 0.0, out=out)
        np.minimum(out, 1.0, out=out)
    return out


def read_alpha(alpha: np.ndarray) -> np.ndarray:
    """Like :func:`as_alpha`, but float32 HxW input in [0, 1] is returned itself.

    For read-only use: the refinement steps each read the same alpha, and a copy of a
    12-megapixel alpha costs 48 MB and tens of milliseconds. NaN is not in [0, 1]: such
    input goes through :func:`as_alpha` (and fails there) like any other.

    Parameters
    ----------
    alpha : ndarray
        Any layout and dtype :func:`as_alpha` takes.

    Returns
    -------
    ndarray
        float32 HxW in [0, 1]: ``alpha`` itself when it already is one, else a new array.
        The caller must not modify it.

    Examples
    --------
    >>> alpha = np.full((2, 2), 0.5, np.float32)
    >>> read_alpha(alpha) is alpha
    True
    """
    if (
        isinstance(alpha, np.ndarray)
        and alpha.dtype == np.float32
        and alpha.ndim == 2
        and (alpha.size == 0 or _is_unit_float32(alpha))
    ):
        return alpha
    return as_alpha(alpha)


def as_trimap(trimap: np.ndarray) -> np.ndarray:
    """Return ``trimap`` as float32 HxW with exactly 0 (background), 0.5 (unknown), 1 (foreground).

    Parameters
    ----------
    trimap : ndarray
        HxW, or HxWxC whose first channel is used, of any dtype in the module's table: 0
        is background, full intensity (255 for uint8, 65535 for uint16, 1 for 0..1 floats;
        a float's overshoot too) is foreground, anything between is unknown, as pymatting
        reads them. uint8 0 / 128 / 255 and float 0 / 0.5 / 1 are the usual forms.

    Returns
    -------
    ndarray
        float32 HxW, a new array.

    Raises
    ------
    ValueError
        A shape that is not HxW(xC), or values the module's table refuses.

    Examples
    --------
    >>> as_trimap(np.array([[0, 128, 255]], np.uint8)).tolist()
    [[0.0, 0.5, 1.0]]
    >>> as_trimap(np.array([[0.0, 0.3, 1.0]])).tolist()
    [[0.0, 0.5, 1.0]]
    """
    array = _plane(trimap, "trimap")
    scale, _ = _scan(array, "trimap")
    # An integer's scale as an integer: compared with a float, the array would be cast.
    full = scale if array.dtype.kind == "f" else int(scale)
    out = np.full(array.shape, 0.5, np.float32)
    out[array <= 0] = 0.0
    out[array >= full] = 1.0
    return out


def as_truth_alpha(array: np.ndarray, *, labels: bool = False) -> np.ndarray:
    """A ground truth as float32 HxW alpha in [0, 1].

    Parameters
    ----------
    array : ndarray
        HxW (or HxWxC, whose first channel is used) truth. With ``labels``, any non-zero
        label is subject. Otherwise an alpha image, read by the module's table like any
        alpha (:func:`as_alpha`).
    labels : bool
        Whether ``array`` holds labels (a segmentation) rather than an alpha image.

    Returns
    -------
    ndarray
        float32 HxW, a new array.

    Examples
    --------
    >>> as_truth_alpha(np.array([[0, 3]]), labels=True).tolist()
    [[0.0, 1.0]]
    >>> as_truth_alpha(np.array([[0, 255]], np.uint8)).tolist()
    [[0.0, 1.0]]
    """
    if labels:
        return (_plane(array, "a ground truth") != 0).astype(np.float32)
    return as_alpha(array)
