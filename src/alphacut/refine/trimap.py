"""Trimap from a soft alpha: definite where the alpha is confident, unknown around the edge.

A coarse alpha (a network's output brought up to full resolution, a GrabCut mask) is
right in the interior and wrong by a few of its own pixels at the edge, so the error
scales with the photo: the default band width is a fraction of the short side.

A soft coarse alpha also says where it is unsure: its own transition between the
thresholds. By default that transition is the unknown region, and the fixed-width band is
kept for hard 0/1 steps, where the alpha carries no confidence (a binary mask): matting
smears edges the alpha was sure of into ramps wherever the colours beside the edge differ
from those at the band's sides, so on the people photos a fixed band made the neural
cut-out worse and the adaptive one does not (figures in ``benchmarks/README.md``).
"""

from __future__ import annotations

import cv2
import numpy as np

from alphacut.convert import MASK_THRESHOLD, read_alpha, read_float_rgb

__all__ = ["make_trimap", "band_width", "within_reach", "colour_doubt", "reopen_foreground"]

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
    ``thresholds[1]`` foreground, and those between (uncertain) unknown. Around a hard step
    (the 0.5 contour with no uncertain pixel beside it) a band is unknown too:

    * ``band`` given: everything within ``band / 2`` pixels of an uncertain pixel or of the
      0.5 contour is unknown, whatever the alpha says there;
    * ``band=None`` (adaptive): the uncertain pixels are the unknown region as they are, and
      only hard steps farther than the default width (:func:`band_width`) from any
      uncertain pixel get a band of that width. A binary mask thus gets the usual band
      all along its edge, while a soft alpha is trusted where it is confident.

    Parameters
    ----------
    alpha : ndarray
        HxW soft alpha, float in [0, 1] or uint8.
    thresholds : tuple of float
        (background, foreground) confidence thresholds.
    band : int, float or None
        Width of the unknown band across a hard edge; see :func:`band_width`. None: the
        adaptive trimap above.
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
    >>> alpha[:, 9:11] = [0.3, 0.7]  # a soft edge: its own transition is the unknown region
    >>> make_trimap(alpha)[0, 6:14].tolist()
    [0.0, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.0]
    """
    alpha = read_alpha(alpha)
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
    inside = (alpha >= MASK_THRESHOLD).view(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    step = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, cross, borderType=cv2.BORDER_REPLICATE) > 0
    if band is None:
        trimap[uncertain] = 0.5
        if uncertain.any():
            # A step beside a soft transition is where the alpha is sure of its edge; only
            # steps with no uncertain pixel within a band width are edges of unknown width.
            step &= _distance_to(uncertain) > width
        seeds = step
    else:
        seeds = uncertain | step
    if width > 0 and seeds.any():
        trimap[seeds] = 0.5
        # Distance to the nearest seed, linear in the pixel count whatever the band width;
        # the two step seeds plus (width - 2) / 2 on either side make ``width`` pixels.
        trimap[_distance_to(seeds) <= (width - 2) / 2] = 0.5
    elif width == 0:
        trimap[uncertain] = 0.5
    if definite_foreground is not None:
        trimap[np.asarray(definite_foreground, bool)] = 1.0
    if definite_background is not None:
        trimap[np.asarray(definite_background, bool)] = 0.0
    return trimap


def within_reach(trimap: np.ndarray, reach: float) -> np.ndarray:
    """Unknown pixels with both a definite foreground and a definite background pixel in reach.

    Closed-form matting explains an unknown pixel from the colours of the definite pixels
    its windows connect it to. Far from one of the two sides it has no colour of that side
    to compare with and only carries the other side's value in (a wide soft region
    bordered by foreground alone solves to all foreground): there the solution says
    nothing the coarse alpha did not.

    Parameters
    ----------
    trimap : ndarray
        HxW trimap, float 0 / 0.5 / 1 (see :func:`alphacut.convert.as_trimap`).
    reach : float
        Distance in pixels (Euclidean).

    Returns
    -------
    ndarray
        bool HxW, True at unknown pixels within ``reach`` of both definite regions.

    Examples
    --------
    >>> trimap = np.full((3, 12), 0.5, np.float32)
    >>> trimap[:, 0], trimap[:, 5] = 0, 1  # an edge band, then a soft region beyond it
    >>> within_reach(trimap, 4)[1].astype(int).tolist()
    [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    """
    unknown = trimap == 0.5
    if not unknown.any():
        return unknown
    near_fg = _distance_to(trimap == 1) <= reach
    near_bg = _distance_to(trimap == 0) <= reach
    return unknown & near_fg & near_bg


# colour_doubt's defaults, measured on the 12 alphamatting photos with IS-Net's alpha:
# definite pixels up to 6 % of the short side from the band are examined; a majority of
# the 10 nearest colour samples decides their side.
DOUBT_REACH = 0.06
_DOUBT_NEIGHBOURS = 10
_DOUBT_SAMPLES = 4000  # per side: enough for a photo's few dominant colours
_COLOUR_LEVELS = 32  # colours are classified on a 32³ grid, then looked up per pixel


def colour_doubt(
    image: np.ndarray,
    trimap: np.ndarray,
    *,
    reach: float = DOUBT_REACH,
    seed: int = 0,
) -> np.ndarray:
    """Definite pixels near the unknown band whose colour belongs to the other side.

    A network's coarse alpha is smooth where the truth is not: it calls sky between leaves
    or grass between strands of hair subject, because at its working resolution they are.
    Their colour says otherwise. Colours are sampled from both definite sides just beyond
    the band (as deep as a band is wide); a definite pixel within ``reach`` of the band is
    doubted when most of its nearest samples in colour come from the other side. Marking
    those pixels unknown lets the matting decide them from the photo. Measured on the 12
    alphamatting photos (IS-Net medium's alpha, closed-form matting), mean SAD near the
    true edge fell from 14.0 to 11.2 and over the whole photo from 24.2 to 17.0 (the trimap
    before, same solver); against remove.bg's binary masks of the people photos it
    softens edges that the masks call hard (MAE 0.0289 → 0.0305 with the person model),
    so the pipeline applies it to general subjects only.

    Parameters
    ----------
    image : ndarray
        HxWx3 RGB, uint8 or float in [0, 1].
    trimap : ndarray
        float32 HxW with 0 / 0.5 / 1 (see :func:`make_trimap`).
    reach : float
        How far from the band definite pixels are examined, as a fraction of the short side.
    seed : int
        Seed of the colour sampling (results are reproducible).

    Returns
    -------
    ndarray
        bool HxW, True at the doubted definite pixels (already grown by 2 px).

    Examples
    --------
    >>> image = np.zeros((60, 60, 3)); image[:, 30:] = [0.9, 0.2, 0.1]  # subject on the right
    >>> image[10:20, 45:50] = 0  # a hole: background seen through the subject
    >>> trimap = np.zeros((60, 60), np.float32); trimap[:, 32:] = 1; trimap[:, 28:32] = 0.5
    >>> doubt = colour_doubt(image, trimap, reach=0.3)
    >>> bool(doubt[15, 47]), bool(doubt[40, 47]), bool(doubt[15, 10])
    (True, False, False)
    """
    from scipy.spatial import cKDTree

    rgb = read_float_rgb(image)
    foreground, background = trimap == 1, trimap == 0
    doubt = np.zeros(trimap.shape, bool)
    if not (trimap == 0.5).any() or not foreground.any() or not background.any():
        return doubt
    depth = band_width(trimap.shape)
    limit = reach * min(trimap.shape)
    # Distance into each definite region from its edge (the band or the other side).
    into_fg, into_bg = _distance_to(~foreground), _distance_to(~background)
    rng = np.random.default_rng(seed)
    samples, labels = [], []
    for side, depth_into, label in ((foreground, into_fg, 1.0), (background, into_bg, 0.0)):
        index = np.flatnonzero((side & (depth_into <= depth)).ravel())
        index = rng.choice(index, min(_DOUBT_SAMPLES, index.size), replace=False)
        samples.append(rgb.reshape(-1, 3)[index])
        labels.append(np.full(index.size, label))
    tree = cKDTree(np.concatenate(samples))
    votes = np.concatenate(labels)
    # Classify the colour grid once: a lookup per pixel then costs the same at 12 MP.
    levels = _COLOUR_LEVELS
    grid = (np.stack(np.meshgrid(*[np.arange(levels)] * 3, indexing="ij"), -1) + 0.5) / levels
    colours = grid.reshape(-1, 3)
    # A tiny photo may hold fewer samples than neighbours asked for: SciPy would pad the
    # answer with out-of-range indices (and k=1 answers a flat array).
    _, nearest = tree.query(colours, k=min(_DOUBT_NEIGHBOURS, votes.size))
    fg_share = votes[nearest.reshape(colours.shape[0], -1)].mean(axis=1).astype(np.float32)
    cells = np.minimum((rgb * levels).astype(np.int32), levels - 1)
    share = fg_share[(cells[..., 0] * levels + cells[..., 1]) * levels + cells[..., 2]]
    doubt = (foreground & (into_fg <= limit) & (share < 0.5)) | (
        background & (into_bg <= limit) & (share > 0.5)
    )
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    return (cv2.dilate(doubt.view(np.uint8), disk) > 0) & (trimap != 0.5)


# reopen_foreground's defaults, measured on the 12 alphamatting photos with IS-Net's alpha
# (benchmarks/objects.py): a solved pixel counts as partly transparent between 0.1 and 0.9,
# and the definite foreground reopens within 4 px of it (a 9 px disk).
REOPEN_LEVEL = 0.1
REOPEN_RADIUS = 4


def reopen_foreground(
    trimap: np.ndarray,
    alpha: np.ndarray,
    *,
    level: float = REOPEN_LEVEL,
    radius: int = REOPEN_RADIUS,
) -> np.ndarray:
    """Definite foreground next to unknown pixels that a first matting left partly transparent.

    Where a network filled in hair or fur, the trimap's definite foreground reaches into
    it, and the matting has to end the transition at the band's inner edge: an unknown
    pixel touching the definite foreground still solves to, say, 0.6. Those pixels say the
    edge goes on; the definite foreground within ``radius`` of them is reopened for a
    second solve. The background side is left alone: measured on the alphamatting photos,
    reopening it as well spread the model's mistakes (a book taken for a plant) instead
    of the subject's edge.

    Parameters
    ----------
    trimap : ndarray
        HxW trimap, float 0 / 0.5 / 1 (see :func:`alphacut.convert.as_trimap`).
    alpha : ndarray
        float HxW, the first matting's solution for ``trimap``.
    level : float
        Solved alpha between ``level`` and ``1 - level`` counts as partly transparent.
    radius : int
        Radius in pixels of the disk reopened around each such pixel.

    Returns
    -------
    ndarray
        bool HxW, True at definite foreground pixels to mark unknown; never all of them.

    Examples
    --------
    >>> trimap = np.array([[0, 0.5, 0.5, 1, 1, 1, 1]], np.float32)
    >>> alpha = np.array([[0, 0.3, 0.6, 1, 1, 1, 1]], np.float32)  # 0.6 next to the core
    >>> reopen_foreground(trimap, alpha, radius=2).astype(int).tolist()
    [[0, 0, 0, 1, 1, 0, 0]]
    """
    foreground = trimap == 1
    partial = (trimap == 0.5) & (alpha > level) & (alpha < 1 - level)
    # Only the partly transparent pixels that touch the definite foreground.
    partial &= cv2.dilate(foreground.view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    reopened = (cv2.dilate(partial.view(np.uint8), disk) > 0) & foreground
    if np.array_equal(reopened, foreground):
        # A subject thinner than the disk everywhere (a tiny photo) would lose every
        # definite pixel, and the matting all it knows of the subject's colours. Small parts
        # of a larger subject may go: measured on hair, keeping each one's pixels lost more
        # (edge SAD 9.31 -> 9.40) than the colours the other parts lend them.
        reopened[:] = False
    return reopened


def _distance_to(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (float32 HxW) of every pixel to the nearest True pixel of ``mask``.

    Infinite everywhere when ``mask`` is empty.
    """
    if not mask.any():
        return np.full(mask.shape, np.inf, np.float32)
    # cv2 measures the distance to the nearest zero pixel; its 3x3 mask (0.955 per step
    # along an axis, 1.37 diagonally) is within a few per cent, enough for band widths.
    return cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, 3)
