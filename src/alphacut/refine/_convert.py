"""Input normalisation shared by the refinement modules (private)."""

from __future__ import annotations

import cv2
import numpy as np

from alphacut.imageops import as_float_rgb, read_float_rgb

__all__ = ["as_float_rgb", "read_float_rgb", "as_trimap", "as_alpha", "read_alpha"]


def as_trimap(trimap: np.ndarray) -> np.ndarray:
    """Return ``trimap`` as float32 HxW with exactly 0 (background), 0.5 (unknown), 1 (foreground).

    uint8 trimaps use 0 / 255 for the definite regions (anything else is unknown); float
    trimaps use 0 / 1, anything strictly between being unknown, as pymatting reads them.
    """
    trimap = np.asarray(trimap)
    if trimap.ndim == 3:
        trimap = trimap[..., 0]
    if trimap.ndim != 2:
        raise ValueError(f"trimap must be HxW, got shape {trimap.shape}")
    if trimap.dtype == np.uint8:
        lo, hi = trimap == 0, trimap == 255
    else:
        lo, hi = trimap <= 0, trimap >= 1
    out = np.full(trimap.shape, 0.5, np.float32)
    out[lo] = 0.0
    out[hi] = 1.0
    return out


def as_alpha(alpha: np.ndarray) -> np.ndarray:
    """Return ``alpha`` as float32 HxW in [0, 1] (uint8 is scaled by 1/255)."""
    alpha = np.asarray(alpha)
    if alpha.ndim == 3:
        alpha = alpha[..., 0]
    if alpha.ndim != 2:
        raise ValueError(f"alpha must be HxW, got shape {alpha.shape}")
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float32) / 255.0
    if alpha.dtype == bool:
        return alpha.astype(np.float32)
    out = alpha.astype(np.float32)  # a copy, so callers may modify it
    # In-place min/max: np.clip on a 12-megapixel array is several times slower.
    np.maximum(out, 0.0, out=out)
    return np.minimum(out, 1.0, out=out)


def read_alpha(alpha: np.ndarray) -> np.ndarray:
    """Like :func:`as_alpha`, but float32 HxW input in [0, 1] is returned itself.

    For read-only use: the refinement steps each read the same alpha, and a copy of a
    12-megapixel alpha costs 48 MB and tens of milliseconds. NaN is not in [0, 1]: such
    input goes through :func:`as_alpha` (and fails there) like any other.
    """
    if isinstance(alpha, np.ndarray) and alpha.dtype == np.float32 and alpha.ndim == 2:
        if alpha.size == 0:
            return alpha
        low, high, _, _ = cv2.minMaxLoc(alpha)
        if low >= 0.0 and high <= 1.0 and np.isfinite(cv2.sumElems(alpha)[0]):
            return alpha
    return as_alpha(alpha)
