"""The refinement step of the core: coarse alpha -> trimap -> matting -> feather -> colours."""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from alphacut.convert import as_trimap, read_alpha, read_float_rgb
from alphacut.refine.feather import feather
from alphacut.refine.foreground import estimate_foreground
from alphacut.refine.matting import MAX_UNKNOWN, estimate_alpha
from alphacut.refine.trimap import (
    band_width,
    colour_doubt,
    make_trimap,
    reopen_foreground,
    within_reach,
)

__all__ = ["Refinement", "refine"]


class Refinement(NamedTuple):
    """Result of :func:`refine`."""

    alpha: np.ndarray
    """float32 HxW in [0, 1]."""
    foreground: np.ndarray
    """float32 HxWx3 in [0, 1]: decontaminated colours (the image where decontaminate=False)."""
    trimap: np.ndarray
    """float32 HxW with 0 / 0.5 / 1."""
    timings: dict[str, float]
    """Seconds per step: "trimap", "matting", "feather", "foreground"."""


def refine(
    image: np.ndarray,
    alpha: np.ndarray,
    *,
    trimap: np.ndarray | None = None,
    definite_foreground: np.ndarray | None = None,
    definite_background: np.ndarray | None = None,
    band: int | float | None = None,
    thresholds: tuple[float, float] | None = None,
    doubt_colours: bool = False,
    matting: bool = True,
    solver: str = "closed-form",
    max_unknown: int | None = None,
    reopen: bool = False,
    feather_sigma: float = 1.0,
    decontaminate: bool = True,
    overwrite_image: bool = False,
) -> Refinement:
    """Refine a coarse alpha at the edges and decontaminate the edge colours.

    Parameters
    ----------
    image : ndarray
        HxWx3 RGB, uint8 or float in [0, 1].
    alpha : ndarray
        HxW coarse soft alpha in [0, 1] (e.g. a network's output at full resolution).
    trimap : ndarray, optional
        Overrides the trimap derived from ``alpha`` (0 / 0.5 / 1 float or 0 / 128 / 255 uint8).
    definite_foreground, definite_background : ndarray, optional
        Boolean HxW masks forced into the trimap's foreground / background (user hints).
    band : int, float or None
        Unknown band width in pixels (int), or as a fraction of the short side (float < 1).
        None (adaptive): the coarse alpha's own soft transition is the unknown region, and
        only its hard steps get a band of 2 % of the short side. See
        :func:`alphacut.refine.make_trimap`.
    thresholds : tuple of float, optional
        Alpha at or below / at or above these is definite background / foreground.
        Default (0.1, 0.9), or (0.3, 0.7) with ``doubt_colours``.
    doubt_colours : bool
        Also mark unknown the definite pixels near the edge whose colour belongs to the
        other side (:func:`alphacut.refine.trimap.colour_doubt`): sky between leaves,
        grass between hairs. The matting then decides them from the photo, and is not
        held back to the coarse alpha far from the band. Measured on the alphamatting
        photos with IS-Net's alpha it is the better trimap (with (0.3, 0.7) thresholds,
        the best of those tried); on the people photos it softens edges that remove.bg's
        masks call hard. :func:`alphacut.remove_background` turns it on for a general
        model's subjects that are not people.
    matting : bool
        Solve the matting problem on the band; False keeps the coarse alpha there. With a
        trimap derived from ``alpha``, unknown pixels farther than the band width from
        definite foreground or from definite background keep the coarse alpha too (see
        :func:`alphacut.refine.trimap.within_reach`). On a photo of one flat colour
        (spread under one 8-bit level) matting is skipped: there is no edge to find.
    solver : {"closed-form", "infoflow"}
        The matting solver (see :func:`alphacut.refine.estimate_alpha`).
    max_unknown : int, optional
        Above this many unknown pixels the matting is solved on a reduced copy of the photo
        and brought back to full resolution by the local linear model (see
        :func:`alphacut.refine.estimate_alpha`, whose default applies when None). A small
        value bounds the time of a wide unknown region, whatever its size.
    reopen : bool
        Solve twice: first on a copy of half the ``max_unknown``, then again with the
        definite foreground reopened where the first solution stays partly transparent
        against it (:func:`alphacut.refine.trimap.reopen_foreground`): hair or fur that
        the coarse alpha filled in. Only with a trimap derived from ``alpha``.
        :func:`alphacut.remove_background` turns it on for a general model's subjects.
    feather_sigma : float
        Gaussian feathering of the band in pixels; 0 disables.
    decontaminate : bool
        Estimate the foreground colours of the edge pixels (blur-fusion).
    overwrite_image : bool
        Write the decontaminated colours into ``image`` itself when it is a float32 RGB
        array in [0, 1] (the result's ``foreground`` is then ``image``), for callers that
        own the photo and no longer need it: saves a copy of it, 576 MB at 48 megapixels.

    Returns
    -------
    Refinement

    Examples
    --------
    >>> ramp = np.tile(np.clip((np.arange(48) - 18) / 12, 0, 1), (24, 1))
    >>> image = ramp[..., None] * np.array([1.0, 0.5, 0]) + (1 - ramp[..., None]) * 0.2
    >>> result = refine(image, ramp > 0.5, band=24, feather_sigma=0)
    >>> bool(np.abs(result.alpha - ramp).max() < 0.05)
    True
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    rgb = read_float_rgb(image)  # read only: decontamination makes its own copy
    coarse = read_alpha(alpha)
    if rgb.shape[:2] != coarse.shape:
        raise ValueError(f"image {rgb.shape[:2]} and alpha {coarse.shape} differ in size")
    if thresholds is None:
        thresholds = (0.3, 0.7) if doubt_colours else (0.1, 0.9)
    if trimap is None:
        tri = make_trimap(coarse, thresholds=thresholds, band=band)
        if doubt_colours:
            tri[colour_doubt(rgb, tri)] = 0.5
    else:
        tri = as_trimap(trimap)
        if tri.shape != coarse.shape:
            raise ValueError(f"trimap {tri.shape} and alpha {coarse.shape} differ in size")
    # The user's strokes win over anything derived or drawn.
    if definite_foreground is not None:
        tri[np.asarray(definite_foreground, bool)] = 1.0
    if definite_background is not None:
        tri[np.asarray(definite_background, bool)] = 0.0
    unknown = tri == 0.5
    timings["trimap"] = time.perf_counter() - start

    start = time.perf_counter()
    if matting and _is_flat(rgb):
        # A photo of one flat colour has no edge for matting to find: the closed-form
        # solution would only interpolate the trimap, at the cost of a solve as large as
        # the unknown region (the whole photo, for an unsure coarse alpha). The coarse
        # alpha is the answer.
        matting = False
    if matting:
        limit = MAX_UNKNOWN if max_unknown is None else max_unknown
        if reopen and trimap is None:
            # The first solve only says where to reopen: a coarser copy is enough.
            first = estimate_alpha(rgb, tri, solver=solver, max_unknown=max(1, limit // 2))
            reopened = reopen_foreground(tri, first)
            if definite_foreground is not None:
                reopened &= ~np.asarray(definite_foreground, bool)
            tri[reopened] = 0.5
            unknown |= reopened
            del first, reopened
        result = estimate_alpha(rgb, tri, solver=solver, max_unknown=limit)
        if trimap is None and not doubt_colours:
            # A soft region of the coarse alpha wider than an edge band is not an edge:
            # matting far from one of the definite sides only spreads the other side's
            # value over it (on the people photos, a whole lawn or lit sign that the network
            # was unsure of turned to foreground wholesale). The coarse alpha is kept there;
            # a caller's own trimap is matted as drawn, and colour doubt puts unknown
            # pixels away from the band on purpose.
            far = unknown & ~within_reach(tri, band_width(tri.shape, band))
            result[far] = coarse[far]
            del far
    else:
        result = np.where(unknown, coarse, tri)
    timings["matting"] = time.perf_counter() - start

    start = time.perf_counter()
    if feather_sigma > 0:
        result = feather(result, sigma=feather_sigma, band=unknown)
    del unknown
    timings["feather"] = time.perf_counter() - start

    start = time.perf_counter()
    own = overwrite_image and rgb is image
    if decontaminate:
        foreground = estimate_foreground(rgb, result, out=rgb if own else None)
    else:
        foreground = rgb if own else rgb.copy()
    timings["foreground"] = time.perf_counter() - start
    return Refinement(result, foreground, tri, timings)


# Colour spread (largest per-channel standard deviation) under which a photo is one flat
# colour: one 8-bit level, the quantisation step.
_FLAT_SPREAD = 1 / 255


def _is_flat(rgb: np.ndarray) -> bool:
    """Whether ``rgb`` (float HxWx3 in [0, 1]) is one flat colour, from ~100 k pixels."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 100_000)))
    sample = rgb[::step, ::step].reshape(-1, rgb.shape[2])
    return bool(sample.std(axis=0).max() < _FLAT_SPREAD)
