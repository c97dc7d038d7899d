"""GrabCut (Rother et al. 2004, OpenCV's implementation) with a soft edge.

GrabCut gives a hard mask; its border is stair-stepped at the working resolution. We run it
on a copy no larger than ``max_side`` (it is iterative and slow on big photos), then bring
the mask back to full resolution with a guided filter steered by the photo, which turns the
stair-steps into a narrow soft band that follows the real edge.

Flat colour is GrabCut's pathological case. Fitted to identical pixels, OpenCV's k-means
makes single-pixel clusters and its Gaussian mixtures get singular covariances, patched to
0.01 I; the foreground and background mixtures then describe the same colour and the
data term -log p_bg + log p_fg, exactly 0 in theory, is the rounding residue of their
E[x^2] - mean^2 covariances (~1e-9, of one sign wherever the sample counts round alike).
Every probable pixel thus gets a minute capacity towards one terminal, and the
Boykov-Kolmogorov max-flow routes each one through the whole uniform region to the
definite background: minutes on a 640x480 white photo, even though the answer is "no
subject". Two flat colours in similar shares inside and outside the box tie the same way.
So (1) a photo whose box and background hold one flat colour each never reaches OpenCV
(see :func:`grabcut` for the answer given instead), (2) the pixels of colours that many
pixels share exactly (a backdrop, a clipped highlight) get a fixed-seed dither below one
grey level, so every mixture component has a full-rank covariance fitted from data and
the data term is a real likelihood ratio that varies from pixel to pixel, and (3) the
iterations run one at a time, stopping once the labels settle or a time limit is spent.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from alphacut.guided import guided_filter
from alphacut.imageops import as_float_rgb, to_uint8

__all__ = ["grabcut", "auto_rect", "hints_from_alpha"]

Rect = tuple[int, int, int, int]

# OpenCV's GrabCut labels, named.
BACKGROUND, FOREGROUND, PROBABLE_BACKGROUND, PROBABLE_FOREGROUND = (
    cv2.GC_BGD,
    cv2.GC_FGD,
    cv2.GC_PR_BGD,
    cv2.GC_PR_FGD,
)


def auto_rect(shape: tuple[int, ...], inset: float = 0.05) -> Rect:
    """A rectangle ``(x, y, w, h)`` inset from the borders by ``inset`` of each side.

    Examples
    --------
    >>> auto_rect((100, 200), inset=0.1)
    (20, 10, 160, 80)
    """
    height, width = shape[:2]
    # A side of 1 or 2 pixels cannot hold a border and an inside: the box spans it, and
    # the other axis (or, on a photo that small both ways, nothing) gives the background.
    dx = max(1, round(width * inset)) if width > 2 else 0
    dy = max(1, round(height * inset)) if height > 2 else 0
    return (dx, dy, max(1, width - 2 * dx), max(1, height - 2 * dy))


def hints_from_alpha(alpha: np.ndarray, *, unsure: float = 0.5) -> np.ndarray:
    """GrabCut hint labels from another method's soft alpha.

    Confident pixels become probable foreground/background rather than definite ones, so
    GrabCut may still correct the other method's mistakes.
    """
    alpha = np.asarray(alpha, np.float32)
    hints = np.full(alpha.shape, PROBABLE_BACKGROUND, np.uint8)
    hints[alpha >= unsure] = PROBABLE_FOREGROUND
    return hints


def _edge_margin(shape: tuple[int, ...]) -> np.ndarray:
    # The erosion that keeps a sure region 1 % of the photo away from any edge, so that a
    # model's slightly wrong outline is never made definite.
    size = max(3, round(0.01 * max(shape[:2]))) | 1
    return np.ones((size, size), np.uint8)


def hints_from_partial_subject(
    alpha: np.ndarray, *, core: float = 0.9, clear: float = 0.01, reach: float = 0.05
) -> np.ndarray:
    """GrabCut hints from a matte that is right where sure but may miss parts of the subject.

    A person model shown a toy or a plant marks part of it with confidence (a troll's body,
    not its hair) and misses the rest. Its sure core (``alpha > core``, eroded by 1 % of
    the photo so that a wrong edge is never definite) becomes definite foreground; what it
    clearly rejects (``alpha < clear``) *near* what it found (within ``reach`` of the
    photo's longest side) becomes probable background, which keeps GrabCut from annexing
    uniform sky beside the subject; everything else stays probable foreground, for GrabCut
    to decide, so parts the model missed are still found. Use with a box (e.g.
    :func:`auto_rect`), which makes the frame background.

    Measured on the 12 alphamatting photos with the embedded person model (see
    ``benchmarks/objects.py``): GrabCut from the automatic box with these hints reaches a
    higher mean IoU than either the model alone or GrabCut alone.

    Examples
    --------
    >>> alpha = np.zeros((100, 100), np.float32); alpha[40:90, 30:70] = 1.0
    >>> hints = hints_from_partial_subject(alpha)
    >>> int(hints[60, 50]), int(hints[37, 50]), int(hints[5, 5])
    (1, 2, 3)
    """
    alpha = np.asarray(alpha, np.float32)
    longest = max(alpha.shape)
    found = (alpha > 0.5).astype(np.uint8)
    sure = cv2.erode((alpha > core).astype(np.uint8), _edge_margin(alpha.shape))
    grow = 2 * max(1, round(reach * longest)) + 1
    near = cv2.dilate(found, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    hints = np.full(alpha.shape, PROBABLE_FOREGROUND, np.uint8)
    hints[(alpha < clear) & near.astype(bool)] = PROBABLE_BACKGROUND
    hints[sure.astype(bool)] = FOREGROUND
    return hints


def grabcut(
    image: np.ndarray,
    *,
    rect: Rect | None = None,
    hints: np.ndarray | None = None,
    inset: float = 0.05,
    iterations: int = 5,
    max_side: int = 640,
    edge_radius: int | None = None,
    seed: int = 0,
    time_limit: float | None = 10.0,
) -> np.ndarray:
    """Soft alpha of the subject by GrabCut.

    Parameters
    ----------
    image : ndarray
        RGB photo, uint8 or float in [0, 1].
    rect : tuple of int, optional
        ``(x, y, width, height)`` of a box around the subject, in pixels of ``image``.
        Everything outside is background.
    hints : ndarray, optional
        uint8 HxW labels: 0 definite background, 1 definite foreground, 2 probable
        background, 3 probable foreground (OpenCV's codes); e.g. from a user's strokes or
        :func:`hints_from_alpha`. Combined with ``rect`` when both are given.
    inset : float
        With neither ``rect`` nor ``hints``, the automatic rectangle's inset from each border.
    iterations : int
        At most this many GrabCut iterations; fewer when the labels stop changing.
    max_side : int
        Longest side of the working copy; the result is upsampled edge-aware.
    edge_radius : int, optional
        Radius of the soft edge band at full resolution; default scales with the photo.
    seed : int
        Seed of OpenCV's RNG, which GrabCut's GMM initialisation uses, and of the dither
        (see below): same photo, same matte.
    time_limit : float or None
        Seconds after which no further iteration starts (the first always runs). A cap on
        the work, not a schedule: at the default a 640-pixel working copy needs a small
        fraction of it. ``None`` runs all ``iterations``.

    Returns
    -------
    ndarray
        float32 HxW alpha in [0, 1] with a soft edge.

    Notes
    -----
    GrabCut separates the colours inside the box from those outside. When there are none
    to separate, OpenCV is not called (it can run for minutes on flat colour; see the
    module's notes) and the answer is given directly:

    * the pixels that may be foreground and those that may be background share one flat
      colour (a blank or uniformly coloured photo, a flat backdrop; spread under
      1 grey level): nothing is the subject but what ``hints`` mark definite foreground,
      which is GrabCut's own optimum there (the smoothness term alone, no boundary);
    * each side is flat but in a different colour (a box drawn exactly around a flat
      shape): the box and hints as given, the foreground being what they mark
      (probable) foreground;
    * a photo too small to hold a background frame around an inside (at most 2 pixels
      across both ways, after the automatic box): as for a flat photo.

    Examples
    --------
    >>> img = np.zeros((80, 80, 3), np.uint8); img[20:60, 20:60] = (200, 50, 50)
    >>> a = grabcut(img, rect=(10, 10, 60, 60))
    >>> float(a[40, 40]) > 0.9, float(a[5, 5]) < 0.1
    (True, True)
    >>> float(grabcut(np.full((480, 640, 3), 255, np.uint8)).max())  # blank: no subject
    0.0
    """
    rgb = as_float_rgb(image)
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    small = (max(2, round(width * scale)), max(2, round(height * scale)))
    work = (
        cv2.resize(to_uint8(rgb), small, interpolation=cv2.INTER_AREA)
        if scale < 1
        else to_uint8(rgb)
    )
    # OpenCV expects BGR; the GMMs do not care about channel order but keep it faithful.
    work = np.ascontiguousarray(work[..., ::-1])

    labels = _initial_labels(work.shape[:2], scale, rect, hints, inset)
    if not np.any((labels == FOREGROUND) | (labels == PROBABLE_FOREGROUND)):
        raise ValueError(
            "GrabCut needs some (probable) foreground: the rectangle or hints are empty"
        )
    if not np.any((labels == BACKGROUND) | (labels == PROBABLE_BACKGROUND)):
        if hints is not None and rect is None:
            raise ValueError("GrabCut needs some background: the hints mark none")
        # A box as large as the photo (a subject that fills the frame): the frame's outer
        # pixels are the only background evidence left, and only probably background.
        labels[[0, -1], :] = np.where(
            labels[[0, -1], :] == FOREGROUND, FOREGROUND, PROBABLE_BACKGROUND
        )
        labels[:, [0, -1]] = np.where(
            labels[:, [0, -1]] == FOREGROUND, FOREGROUND, PROBABLE_BACKGROUND
        )
        if not np.any(labels == PROBABLE_BACKGROUND):
            raise ValueError("GrabCut needs some background: the hints mark none")
    hard = _degenerate_answer(work, labels)
    if hard is None:
        hard = _iterate(work, labels, iterations, seed, time_limit)
    if scale < 1:
        hard = cv2.resize(hard, (width, height), interpolation=cv2.INTER_LINEAR)
    if edge_radius is None:
        edge_radius = max(2, round(1.5 / scale), round(min(height, width) / 400))
    soft = guided_filter(
        rgb, hard, radius=edge_radius, eps=1e-3, subsample=max(1, edge_radius // 3)
    )
    # Far from the edge the hard answer is right; the filter only decides the band.
    band = cv2.dilate(
        (np.abs(cv2.Laplacian(hard, cv2.CV_32F)) > 1e-3).astype(np.uint8),
        np.ones((2 * edge_radius + 1,) * 2, np.uint8),
    ).astype(bool)
    alpha = np.where(band, np.clip(soft, 0, 1), np.round(hard))
    return alpha.astype(np.float32)


# Colour spread (largest per-channel standard deviation, 8-bit levels) under which pixels
# are one flat colour: below the quantisation step, so no photo content is lost, and far
# above the spread of a flat backdrop's few stray pixels (0.03 levels for 1 in 1000
# pixels one level off, which OpenCV's max-flow still takes minutes over).
_FLAT_SPREAD = 1.0
# Two flat regions this close (largest channel difference of their means, in levels) are
# the same colour: the rounding of an area-averaged resize stays well within it.
_SAME_COLOUR = 3.0
# Standard deviation of the dither, in 8-bit levels: about a third of the values move by
# one level, which gives flat areas a spread without changing what colour they are.
_DITHER = 0.5
# Colours held by at least this share of the working copy's pixels are dithered: a flat
# backdrop or a clipped highlight, never the texture of a photo (in the 140 evaluation
# photos the most common colour holds a median 1 % of the pixels).
_CROWDED = 0.01


def _degenerate_answer(work: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """The hard mask (float32) for input GrabCut cannot work on, or ``None`` to run it.

    See the notes of :func:`grabcut` for the cases and their answers.
    """
    maybe_fg = (labels == FOREGROUND) | (labels == PROBABLE_FOREGROUND)
    definite_fg = (labels == FOREGROUND).astype(np.float32)
    if maybe_fg.all() or not maybe_fg.any():
        return definite_fg  # a photo too small for a frame and an inside
    fg, bg = work[maybe_fg].astype(np.float32), work[~maybe_fg].astype(np.float32)
    if max(fg.std(axis=0).max(), bg.std(axis=0).max()) >= _FLAT_SPREAD:
        return None
    if np.abs(fg.mean(axis=0) - bg.mean(axis=0)).max() <= _SAME_COLOUR:
        return definite_fg
    return maybe_fg.astype(np.float32)


def _dither_flat_colours(work: np.ndarray, seed: int) -> np.ndarray:
    """``work`` with a fixed-seed dither on the pixels of its most common colours.

    A colour that many pixels share exactly is what makes GrabCut's mixtures singular and
    its data term a tie (see the module's notes); only those pixels are dithered, so a
    photo without flat areas is segmented exactly as it would be without.
    """
    codes = (work.astype(np.int32) << np.array([16, 8, 0], np.int32)).sum(axis=-1).ravel()
    _, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    crowded = (counts >= _CROWDED * codes.size)[inverse].reshape(work.shape[:2])
    if not crowded.any():
        return work
    rng = np.random.default_rng(seed)
    dither = np.rint(rng.normal(0.0, _DITHER, work.shape)).astype(np.int16)
    dither[~crowded] = 0
    return np.clip(work + dither, 0, 255).astype(np.uint8)


def _iterate(
    work: np.ndarray, labels: np.ndarray, iterations: int, seed: int, time_limit: float | None
) -> np.ndarray:
    """Run OpenCV's GrabCut on the BGR uint8 ``work``; the hard mask as float32."""
    work = _dither_flat_colours(work, seed)
    cv2.setRNGSeed(seed)
    bgd_model = np.zeros((1, 65), np.float64)
    fgd_model = np.zeros((1, 65), np.float64)
    # No iterations: only k-means and the first fit of the mixtures. Then one iteration
    # per call, continuing from the models, which gives the same labels as one call with
    # all the iterations but lets us stop early.
    cv2.grabCut(work, labels, None, bgd_model, fgd_model, 0, cv2.GC_INIT_WITH_MASK)
    start = time.perf_counter()
    for _ in range(iterations):
        before = labels.copy()
        cv2.grabCut(work, labels, None, bgd_model, fgd_model, 1, cv2.GC_EVAL)
        if np.array_equal(labels, before):
            break  # settled: another iteration would refit nearly the same models
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    return ((labels == FOREGROUND) | (labels == PROBABLE_FOREGROUND)).astype(np.float32)


def _initial_labels(size, scale, rect, hints, inset) -> np.ndarray:
    height, width = size
    if rect is None and hints is None:
        rect_small = auto_rect((height, width), inset)
    elif rect is not None:
        x, y, w, h = (int(round(v * scale)) for v in rect)
        x, y = max(0, x), max(0, y)
        w, h = max(1, min(w, width - x)), max(1, min(h, height - y))
        rect_small = (x, y, w, h)
    else:
        rect_small = None
    if rect_small is not None:
        labels = np.full((height, width), BACKGROUND, np.uint8)
        x, y, w, h = rect_small
        labels[y : y + h, x : x + w] = PROBABLE_FOREGROUND
    else:
        labels = np.full((height, width), PROBABLE_BACKGROUND, np.uint8)
    if hints is not None:
        hints = np.asarray(hints, np.uint8)
        if hints.max() > 3:
            raise ValueError("hints must hold GrabCut labels 0..3")
        resized = cv2.resize(hints, (width, height), interpolation=cv2.INTER_NEAREST)
        if rect_small is None:
            return resized.copy()
        # Definite hints win everywhere (a stroke may reach outside the box); probable
        # hints only refine the inside of the box, which is all GrabCut may decide.
        definite = (resized == FOREGROUND) | (resized == BACKGROUND)
        probable_inside = ~definite & (labels == PROBABLE_FOREGROUND)
        labels = np.where(definite | probable_inside, resized, labels).astype(np.uint8)
    return labels


def hints_from_sure_alpha(alpha: np.ndarray, *, sure: float = 0.95) -> np.ndarray:
    """GrabCut hints that keep what a good matte is sure of and let GrabCut settle the rest.

    Pixels at or beyond ``sure`` (or ``1 - sure``), eroded by 1 % of the photo so that no
    edge pixel is definite, become definite foreground (background); the rest is probable
    foreground or background by the 0.5 threshold. Used inside a user's box after a general
    model: on the alphamatting photos with their true boxes, GrabCut seeded this way after
    IS-Net lowers mean SAD from 21.1 to 14.5 (``benchmarks/objects.py``, box rows).

    Examples
    --------
    >>> alpha = np.zeros((100, 100), np.float32); alpha[20:80, 20:80] = 1.0
    >>> hints = hints_from_sure_alpha(alpha)
    >>> int(hints[50, 50]), int(hints[5, 5]), int(hints[20, 50]), int(hints[19, 50])
    (1, 0, 3, 2)
    """
    alpha = np.asarray(alpha, np.float32)
    kernel = _edge_margin(alpha.shape)
    hints = hints_from_alpha(alpha)
    hints[cv2.erode((alpha >= sure).astype(np.uint8), kernel).astype(bool)] = FOREGROUND
    hints[cv2.erode((alpha <= 1 - sure).astype(np.uint8), kernel).astype(bool)] = BACKGROUND
    return hints
