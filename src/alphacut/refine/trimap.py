"""Trimap from a soft alpha: definite where the alpha is confident, unknown around the edge.

A coarse alpha (a network's output brought up to full resolution, a GrabCut mask) is
right in the interior and wrong by a few of its own pixels at the edge, so the error
scales with the photo: the default band width is a fraction of the short side.
"""

from __future__ import annotations

import cv2
import numpy as np

from alphacut.refine._convert import as_alpha

__all__ = ["make_trimap", "band_width"]

DEFAULT_BAND = 0.02  # fraction of the short side: ~12 px at 0.5 MP, ~60 px at 12 MP
MIN_BAND = 6  # px; below this the matting has too little to work with


def band_width(shape: tuple[int, ...], band: int | float | None = None) -> int:
    """Unknown band width in pixels for an image of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        Image shape; the first two entries are height and width.
    band : int, float or None
        Width in pixels (int), or as a fraction of the short side (float < 1), or None for
        the adaptive default (2 % of the short side, at least 6 px).

    Returns
    -------
    int

    Examples
    --------
    >>> band_width((3000, 4000)), band_width((3000, 4000), 0.01), band_width((100, 100), 10)
    (60, 30, 10)
    """
    short = min(shape[:2])
    if band is None:
        return max(MIN_BAND, round(DEFAULT_BAND * short))
    if isinstance(band, float) and band < 1:
        return max(1, round(band * short))
    if band < 0:
        raise ValueError(f"band must be non-negative, got {band}")
    return int(band)


def make_trimap(
    alpha: np.ndarray,
    *,
    thresholds: tuple[float, float] = (0.1, 0.9),
    band: int | float | None = None,
    definite_foreground: np.ndarray | None = None,
    definite_background: np.ndarray | None = None,
) -> np.ndarray:
    """Derive a trimap from a soft alpha.

    Pixels with alpha at or below ``thresholds[0]`` are background, at or above
    ``thresholds[1]`` foreground; everything within ``band / 2`` pixels of an uncertain
    pixel (between the thresholds) or of the 0.5 contour is unknown.

    Parameters
    ----------
    alpha : ndarray
        HxW soft alpha, float in [0, 1] or uint8.
    thresholds : tuple of float
        (background, foreground) confidence thresholds.
    band : int, float or None
        Width of the unknown band across a hard edge; see :func:`band_width`.
    definite_foreground, definite_background : ndarray, optional
        Boolean HxW masks (e.g. user strokes) forced to foreground / background; they win
        over the derived band, background last.

    Returns
    -------
    ndarray
        float32 HxW with 0 (background), 0.5 (unknown) and 1 (foreground).

    Examples
    --------
    >>> alpha = np.zeros((20, 20))
    >>> alpha[:, 10:] = 1
    >>> trimap = make_trimap(alpha, band=4)
    >>> trimap[0, 6:14].tolist()
    [0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0]
    """
    alpha = as_alpha(alpha)
    lo, hi = thresholds
    if not 0 <= lo < hi <= 1:
        raise ValueError(f"thresholds must satisfy 0 <= low < high <= 1, got {thresholds}")
    width = band_width(alpha.shape, band)

    # Compare in float32, the alpha's own precision: 0.2 as float32 exceeds 0.2 as float64.
    lo, hi = np.float32(lo), np.float32(hi)
    trimap = np.where(alpha >= hi, np.float32(1), np.float32(0))
    uncertain = (alpha > lo) & (alpha < hi)
    # A hard step has no uncertain pixel: mark the pixels on either side of the 0.5 contour
    # (a morphological gradient with a cross is non-zero exactly there).
    inside = (alpha >= 0.5).view(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    step = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, cross, borderType=cv2.BORDER_REPLICATE) > 0
    seeds = uncertain | step
    if width > 0 and seeds.any():
        trimap[seeds] = 0.5
        # Distance to the nearest seed, linear in the pixel count whatever the band width;
        # the two step seeds plus (width - 2) / 2 on either side make ``width`` pixels.
        distance = cv2.distanceTransform((~seeds).astype(np.uint8), cv2.DIST_L2, 3)
        trimap[distance <= (width - 2) / 2] = 0.5
    elif width == 0:
        trimap[uncertain] = 0.5
    if definite_foreground is not None:
        trimap[np.asarray(definite_foreground, bool)] = 1.0
    if definite_background is not None:
        trimap[np.asarray(definite_background, bool)] = 0.0
    return trimap
