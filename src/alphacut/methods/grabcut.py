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

Speed. The max-flow, not the photo's size, sets the time, and the first iterations, from
a box's mixed colours, are the slow ones (a grey photo, one colour axis, more so). So
GrabCut first settles on a copy at most ``solve_side`` (320) pixels long, then runs one
more iteration at ``max_side`` (640) from that answer, whose mixtures already separate the
colours; a grey photo's redundant channels are replaced by its local mean brightness at
two scales (:func:`_grey_with_context`). From seeds or a box, OpenCV fits the mixtures
but the iterations on the small copy cut one graph (:mod:`alphacut.methods.grabcut_graph`),
each cut starting from the previous flow, which leaves little to do once the labels
settle; and the iteration at ``max_side`` cuts the photo in two halves on two cores, with
the mixtures fitted once for both. Only the copies, the guided filter and the final blend see
full resolution. Measured figures: ``benchmarks/README.md``, "GrabCut".

Border. The automatic box's strip is certain background, except on the sides the subject
runs into: there GrabCut alone solves again with that strip undecided (:func:`_open_border`),
and GrabCut from seeds decides the strip, and the edge of the box beside it, by the colours
of that side alone (:func:`_settle_strip`).

Threads. GrabCut always works in a helper thread of its own while the calling thread
waits, calling ``check`` (if given, or set by :func:`checking`) every 50 ms: whatever it
raises (a GUI's cancel, Ctrl-C) reaches the caller at once, and the helper stops at its
next step (on a 12 MP photo, none is more than a few tenths of a second of work). A cut of
the small copy holds the GIL (PyMaxflow does not release it), so there the check waits
for the cut to end: at most 0.26 s on the object and people photos (GT13's first cut).
The thread also keeps the seeding of OpenCV's random generator, which is per thread, from
touching the caller's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any, Literal

import cv2
import numpy as np

from alphacut._internal.guided import guided_filter, guided_filter_near
from alphacut._internal.imageops import as_float_rgb, to_uint8
from alphacut.methods.grabcut_graph import GrabCutGraph

__all__ = ["grabcut", "auto_rect", "checking", "hints_from_alpha"]

Rect = tuple[int, int, int, int]
# A box, or "auto" for the automatic one (see grabcut's ``rect``).
Box = Rect | Literal["auto"]

# Longest side of the copy GrabCut's last iteration works on (``grabcut``'s ``max_side``):
# what guides it, such as a model's seeds, need be no larger.
MAX_SIDE = 640

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
    alpha: np.ndarray, *, core: float = 0.9, clear: float = 0.01, reach: float = 0.02
) -> np.ndarray:
    """GrabCut hints from a matte that is right where sure but may miss parts of the subject.

    A person model shown a toy or a plant marks part of it with confidence (a troll's body,
    not its hair) and misses the rest. Its sure core (``alpha > core``, eroded by 1 % of
    the photo so that a wrong edge is never definite) becomes definite foreground; what it
    clearly rejects (``alpha < clear``) *near* what it found (within ``reach`` of the
    photo's longest side) becomes probable background, which keeps GrabCut from annexing
    uniform sky beside the subject; everything else stays probable foreground, for GrabCut
    to decide, so parts the model missed are still found. Use with the automatic box
    (``grabcut(image, rect="auto", hints=...)``), which makes the frame background except
    where the subject runs into it.

    Measured on the 12 alphamatting photos with the embedded person model (see
    ``benchmarks/objects.py``): GrabCut from the automatic box with these hints reaches a
    higher mean IoU than either the model alone or GrabCut alone. A ``reach`` of 2 %
    (mean IoU 0.849 over 5 seeds) beat 5 % (0.819) and more: a wider ring lets GrabCut's
    background mixture learn the subject's own colours where the model missed a part.

    Examples
    --------
    >>> alpha = np.zeros((100, 100), np.float32); alpha[40:90, 30:70] = 1.0
    >>> hints = hints_from_partial_subject(alpha)
    >>> int(hints[60, 50]), int(hints[38, 50]), int(hints[5, 5])
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


# The check in force where :func:`grabcut` is given none (see :func:`checking`).
_CHECK: ContextVar[Callable[[], Any] | None] = ContextVar("alphacut_grabcut_check", default=None)
# How often a waiting caller calls its check: well inside the half second a cancel may take.
_POLL_S = 0.05


@contextmanager
def checking(check: Callable[[], Any]) -> Iterator[None]:
    """Make every :func:`grabcut` in this context (thread) call ``check`` while it works.

    For callers whose GrabCut runs inside other code, such as
    :func:`alphacut.remove_background` in a GUI's worker thread: ``check`` raising (e.g.
    a cancel exception) stops the GrabCut within 50 ms and the exception
    propagates through that code. A ``check`` given to :func:`grabcut` itself wins.

    Examples
    --------
    >>> def cancelled():
    ...     raise TimeoutError("cancelled")
    >>> img = np.zeros((80, 80, 3), np.uint8); img[20:60, 20:60] = (200, 50, 50)
    >>> with checking(cancelled):
    ...     grabcut(img)
    Traceback (most recent call last):
    TimeoutError: cancelled
    """
    token = _CHECK.set(check)
    try:
        yield
    finally:
        # ValueError: ended from another thread (a generator dropped unfinished and closed
        # by the garbage collector there), whose context never had it set.
        with suppress(ValueError):
            _CHECK.reset(token)


class _Stopped(Exception):
    """Raised in the helper thread to end work whose caller has stopped waiting."""


def grabcut(
    image: np.ndarray,
    *,
    rect: Box | None = None,
    hints: np.ndarray | None = None,
    inset: float = 0.05,
    iterations: int = 5,
    max_side: int = MAX_SIDE,
    solve_side: int = 320,
    edge_radius: int | None = None,
    seed: int = 0,
    time_limit: float | None = 10.0,
    check: Callable[[], Any] | None = None,
) -> np.ndarray:
    """Soft alpha of the subject by GrabCut.

    Parameters
    ----------
    image : ndarray
        RGB photo, uint8 or float in [0, 1].
    rect : tuple of int or "auto", optional
        ``(x, y, width, height)`` of a box around the subject, in pixels of ``image``.
        Everything outside is background. ``"auto"``: the automatic box (see ``inset``),
        for use with ``hints`` such as a model's seeds; on the sides the answer runs into,
        its strip is then decided by the colours of that side of the photo
        (:func:`_settle_strip`).
    hints : ndarray, optional
        uint8 HxW labels: 0 definite background, 1 definite foreground, 2 probable
        background, 3 probable foreground (OpenCV's codes); e.g. from a user's strokes or
        :func:`hints_from_alpha`. Combined with ``rect`` when both are given. A definite
        stroke thinner than a pixel of the working copy is kept, not sampled away.
    inset : float
        The automatic rectangle's inset from each border, used with neither ``rect`` nor
        ``hints``, or with ``rect="auto"``.
        The strip outside it is background, except on the sides the subject runs into
        (a pot standing on the bottom edge): there GrabCut decides the strip too, by
        solving again (no hints) or by that side's colours (``rect="auto"``).
    iterations : int
        At most this many GrabCut iterations at ``solve_side``; fewer when the labels
        settle (under 0.1 % of the pixels change).
    max_side : int
        Longest side of the working copy of GrabCut's last iteration; the result is
        upsampled edge-aware to full resolution.
    solve_side : int
        Longest side of the smaller copy the iterations from the box's colours run on,
        whose max-flow is the slow part (see the module's notes). When it is at least
        ``max_side`` (or the photo's longest side), everything runs at ``max_side``.
    edge_radius : int, optional
        Radius of the soft edge band at full resolution; default scales with the photo.
    seed : int
        Seed of OpenCV's RNG, which GrabCut's GMM initialisation uses, and of the dither
        (see below): same photo, same matte.
    time_limit : float or None
        Seconds after which no further iteration starts, the one at ``max_side``
        included (the first always runs). A cap on the work for pathological input, not
        a schedule: at the default sizes an iteration takes a small fraction of it, so
        the result does not depend on the machine's speed. ``None`` runs all the
        iterations.
    check : callable, optional
        Called with no arguments every 50 ms while GrabCut works, from the calling thread
        (the work then runs in a helper thread); whatever it raises stops the GrabCut and
        propagates at once, the helper ending at its next step. Default: the one set by
        :func:`checking`, if any.

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
    if isinstance(rect, str) and rect != "auto":
        raise ValueError(f"rect must be (x, y, width, height) or 'auto', not {rect!r}")
    if check is None:
        check = _CHECK.get()
    options = dict(
        rect=rect,
        hints=hints,
        inset=inset,
        iterations=iterations,
        max_side=max_side,
        solve_side=solve_side,
        edge_radius=edge_radius,
        seed=seed,
        time_limit=time_limit,
    )
    if check is None:
        check = _nothing_to_check
    check()
    return _run_checked(check, lambda stop: _grabcut(image, stop.is_set, **options))


def _nothing_to_check() -> None:
    pass


def _run_checked(check: Callable[[], Any], work: Callable[[threading.Event], Any]) -> Any:
    """``work(stop)`` in a helper thread, calling ``check`` here until it is done.

    If ``check`` raises, ``stop`` is set (``work`` looks at it between its steps and ends)
    and the exception propagates without waiting for the helper: one max-flow or one
    full-resolution filter can last longer than a cancel may take.
    """
    stop = threading.Event()
    done = threading.Event()
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, work(stop)))
        except BaseException as error:  # handed to the caller, whatever it is
            outcome.append((False, error))
        finally:
            done.set()

    threading.Thread(target=target, name="alphacut-grabcut", daemon=True).start()
    try:
        while not done.wait(_POLL_S):
            check()
    except BaseException:
        stop.set()
        raise
    succeeded, value = outcome[0]
    if succeeded:
        return value
    raise value


def _grabcut(
    image: np.ndarray,
    stopped: Callable[[], bool],
    *,
    rect: Box | None,
    hints: np.ndarray | None,
    inset: float,
    iterations: int,
    max_side: int,
    solve_side: int,
    edge_radius: int | None,
    seed: int,
    time_limit: float | None,
) -> np.ndarray:
    """:func:`grabcut`'s work; ``stopped()`` is asked between steps (raises ``_Stopped``)."""

    def step() -> None:
        if stopped():
            raise _Stopped

    rgb = as_float_rgb(image)
    step()
    height, width = rgb.shape[:2]
    final_scale = min(1.0, max_side / max(height, width))
    scale = min(final_scale, solve_side / max(height, width))
    work = _working_copy(rgb, scale)
    step()
    labels = _labels(work.shape[:2], scale, rect, hints, inset)
    step()
    hard = _degenerate_answer(work, labels)
    if hard is None:
        automatic_box = hints is None and (rect is None or isinstance(rect, str))
        # Refitting the mixtures pays where seeds or a box give GrabCut a good start; from
        # the automatic box alone it lost (IoU 0.770 -> 0.751 on the alphamatting photos,
        # 0.531 -> 0.516 on the people photos), so OpenCV's own iterations run there.
        solver = _Solver(seed, time_limit, step, refit=not automatic_box)
        hard = solver.iterate(work, labels, iterations)
        box = auto_rect(work.shape[:2], inset) if automatic_box else None
        to_border = box is not None and any(_sides_reached(hard >= 0.5, box))
        if to_border and 0 < hard.mean() < 1 and not solver.out_of_time:
            # Solved again from fresh mixtures: the first ones learnt the subject's
            # colours in the strip as background.
            labels = _labels(work.shape[:2], scale, rect, hints, inset)
            if _open_border(labels, hard >= 0.5, box):
                first, colours = hard, solver.colours()
                solver.forget_colours()
                hard = solver.iterate(work, labels, iterations)
                if _ran_away(first >= 0.5, hard >= 0.5):
                    # The fresh colours took background for subject (a wall the colour
                    # of the subject's clothes): keep the first answer.
                    hard, to_border = first, False
                    solver.restore_colours(colours)
        larger = final_scale > scale
        if (larger or to_border) and 0 < hard.mean() < 1 and not solver.out_of_time:
            # One iteration at the larger size from the settled answer: there the
            # smoothness weighs less against the colours, which lets GrabCut carve out
            # what the small copy had to keep (gaps between limbs or leaves). It starts
            # from models that already separate the colours, so its max-flow is quick.
            if larger:
                scale = final_scale
                work = _working_copy(rgb, scale)
                step()
            labels = _labels(work.shape[:2], scale, rect, hints, inset)
            settled = cv2.resize(hard, work.shape[1::-1], interpolation=cv2.INTER_LINEAR)
            probable = (labels == PROBABLE_FOREGROUND) | (labels == PROBABLE_BACKGROUND)
            labels[probable] = np.where(
                settled[probable] >= 0.5, PROBABLE_FOREGROUND, PROBABLE_BACKGROUND
            )
            if to_border:
                _open_border(labels, settled >= 0.5, auto_rect(work.shape[:2], inset))
            step()
            hard = solver.polish(work, labels)
            if to_border and _ran_away(settled >= 0.5, hard >= 0.5):
                hard = settled
        seeded_in_automatic_box = isinstance(rect, str) and hints is not None
        if seeded_in_automatic_box and 0 < hard.mean() < 1 and not solver.out_of_time:
            step()
            hard = _settle_strip(solver.seen(work), hard, auto_rect(work.shape[:2], inset), seed)
    if scale < 1:
        hard = cv2.resize(hard, (width, height), interpolation=cv2.INTER_LINEAR)
    if edge_radius is None:
        edge_radius = max(2, round(1.5 / scale), round(min(height, width) / 400))
    step()
    # Far from the edge the hard answer is right; the filter only decides the band.
    band = cv2.dilate(
        (np.abs(cv2.Laplacian(hard, cv2.CV_32F)) > 1e-3).astype(np.uint8),
        np.ones((2 * edge_radius + 1,) * 2, np.uint8),
    ).astype(bool)
    step()
    subsample = max(1, edge_radius // 3)
    if subsample == 1:
        # Photos up to about 2300 pixels long: filtered only near the band (the whole of
        # a 1 MP plant photo took 0.16 s).
        soft = guided_filter_near(rgb, hard, band, radius=edge_radius, eps=1e-3)
    else:
        soft = guided_filter(rgb, hard, radius=edge_radius, eps=1e-3, subsample=subsample)
    step()
    alpha = np.where(band, np.clip(soft, 0, 1), np.round(hard))
    return alpha.astype(np.float32)


# How close (a share of the automatic box's side) the subject must come to a side of the
# box to count as running into the border there. On 12 alphamatting and the first 40
# people photos: 0.1 kept more of the border's subject than 0.05 (see _open_border).
_BORDER_REACH = 0.1


def _within_reach(box: Rect) -> Rect:
    """``box`` shrunk by ``_BORDER_REACH`` of its sides (possibly empty)."""
    x, y, w, h = box
    my, mx = round(_BORDER_REACH * h), round(_BORDER_REACH * w)
    return x + mx, y + my, w - 2 * mx, h - 2 * my


def _sides_reached(foreground: np.ndarray, box: Rect) -> tuple[bool, bool, bool, bool]:
    """Which sides of ``box`` (top, bottom, left, right) the foreground comes close to."""
    x, y, w, h = _within_reach(box)
    inner = foreground[y : y + h, x : x + w]
    if inner.size == 0:
        return (False, False, False, False)
    return (
        bool(inner[0].any()),
        bool(inner[-1].any()),
        bool(inner[:, 0].any()),
        bool(inner[:, -1].any()),
    )


# How much re-solving with the border open may grow the subject: a subject cut by the
# frame gains its strip and what the first colours had wrongly given the background; more
# than this is a runaway (a wall the colour of the subject's clothes taken in whole).
# Measured on the 12 alphamatting and 124 people photos against the closed border: mean IoU
# 0.727 -> 0.770 and 0.506 -> 0.531, the people's mean |alpha error| 0.178 -> 0.176; with
# no check IoU rose as much but that error to 0.244 (one photo went all subject); with
# 1.3 x + 0.1 it was 0.183.
_GROWTH = (1.3, 0.05)


def _ran_away(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the subject ``after`` outgrew ``before`` beyond ``_GROWTH``."""
    factor, extra = _GROWTH
    return after.mean() > factor * before.mean() + extra


def _open_border(labels: np.ndarray, foreground: np.ndarray, box: Rect) -> bool:
    """Let GrabCut decide the border strip where the subject runs into it (in place).

    The automatic box makes the strip outside it certain background, which cuts off a
    subject that touches the photo's edge: a plant's pot, a person cut by the frame. On
    the sides the answer ``foreground`` comes close to, the strip becomes probable
    background, and probable foreground wherever the answer at the nearest pixel of
    the box (shrunk by the reach) is foreground, i.e. the subject carried on straight to
    the edge. The other sides stay certain background. With the runaway check (see
    ``_GROWTH``), on the 77 people photos whose subject touches the edge, the share of
    its pixels in the outer 5 % kept rose from 0.00 to 0.34 (``benchmarks/people.py``).
    Making every side probable instead lowered IoU (0.655 and 0.497 against 0.727 and
    0.559 on 12 alphamatting and 40 people photos): GrabCut then annexed background
    along the whole frame.

    Returns False, leaving ``labels`` as they were, where nothing would be left for
    GrabCut's background (a tiny photo whose subject fills it).
    """
    opened = labels.copy()
    height, width = labels.shape
    x, y, w, h = box
    top, bottom, left, right = _sides_reached(foreground, box)
    strip = opened == BACKGROUND
    side = np.zeros_like(strip)
    side[:y] |= top
    side[y + h :] |= bottom
    side[:, :x] |= left
    side[:, x + w :] |= right
    opened[strip & side] = PROBABLE_BACKGROUND
    x, y, w, h = _within_reach(box)
    rows = np.clip(np.arange(height), y, y + h - 1)
    cols = np.clip(np.arange(width), x, x + w - 1)
    straight_on = foreground[np.ix_(rows, cols)]
    opened[(opened != FOREGROUND) & straight_on] = PROBABLE_FOREGROUND
    if not np.any((opened == BACKGROUND) | (opened == PROBABLE_BACKGROUND)):
        return False
    labels[:] = opened
    return True


# How far into the box, in widths of the strip, the colours that decide a side's strip are
# taken from. On the 12 alphamatting photos, mean of GrabCut seeds 0-4: IoU 0.8636 with 3,
# 0.8628 with 2.
_STRIP_CONTEXT = 3
# How far into the box, in widths of the strip, the strip's cut reopens the answer along
# its side. The certain-background strip also pulls the subject beside it away: GT21's
# flowers, subject in 77 % of the 640-px copy's row 28 px inside the box's right side,
# in 11 % of its last row. At seed 0, frame kept / IoU on the alphamatting photos:
# 0.877 / 0.864 without, 0.939 / 0.870 with 1, 0.944 / 0.870 with 2 (which took in
# background beside GT16's and GT22's subjects), 0.929 / 0.870 with 0.5.
_STRIP_REOPEN = 1


def _settle_strip(seen: np.ndarray, hard: np.ndarray, box: Rect, seed: int) -> np.ndarray:
    """``hard`` with the automatic box's strip decided on the sides the subject runs into.

    From seeds, GrabCut's colours are right but the strip, certain background while it
    solved, cuts off a subject the photo's edge cuts (a pot on the bottom edge), and pulls
    away the subject beside it inside the box. Each such side gets a GrabCut of its own on
    ``seen`` (the working copy as GrabCut is shown it): mixtures fitted to the answer in a
    band of the box along that side (``_STRIP_CONTEXT`` strip widths deep), beyond the
    ``_STRIP_REOPEN`` widths next to the strip that the strip pulled; then one cut with
    that band fixed and the strip and those widths undecided, where the subject may only
    grow. Colours from near the side, rather than the whole photo's, tell its
    background from its subject: opening the strip to the whole photo's mixtures instead
    (in the last cut at ``max_side``) scored higher on the alphamatting photos (IoU 0.881
    against 0.867) but annexed the dark table under a cup's saucer, cost 0.4 s more on it
    at 1 MP, and lowered IoU on people photos with no person found. Re-solving from fresh
    mixtures with the strip open, as from the automatic box alone (:func:`_open_border`),
    lost IoU (0.856 -> 0.831).
    """
    foreground = hard >= 0.5
    sides = _sides_reached(foreground, box)
    if not any(sides):
        return hard
    inside = np.zeros(foreground.shape, bool)
    x, y, w, h = box
    inside[y : y + h, x : x + w] = True
    # Each side is turned to the bottom (top, bottom, left, right: 2, 0, 1, 3 quarter
    # turns) and decided on its own, two at a time (OpenCV releases the GIL).
    turns = [turn for turn, reached in zip((2, 0, 1, 3), sides, strict=True) if reached]

    def decide(turn: int) -> tuple[int, np.ndarray] | None:
        return _bottom_strip(
            np.rot90(seen, turn), np.rot90(foreground, turn), np.rot90(inside, turn), seed
        )

    settled = foreground.copy()
    with ThreadPoolExecutor(max_workers=2) as pool:
        for turn, decided in zip(turns, pool.map(decide, turns), strict=True):
            if decided is not None:
                first_row, subject = decided
                np.rot90(settled, turn)[first_row:] |= subject
    return settled.astype(np.float32)


def _bottom_strip(
    seen: np.ndarray, foreground: np.ndarray, inside: np.ndarray, seed: int
) -> tuple[int, np.ndarray] | None:
    """:func:`_settle_strip` for the strip below the box ``inside``: the first row it
    decided (the strip's, less the reopened widths) and where it is subject from there on,
    or ``None`` where it cannot be decided."""
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    strip_top, span = rows[-1] + 1, slice(cols[0], cols[-1] + 1)
    width = foreground.shape[0] - strip_top
    open_top = max(0, strip_top - _STRIP_REOPEN * width)
    band_top = max(0, open_top - _STRIP_CONTEXT * width)
    band = foreground[band_top:open_top, span]
    fit = np.where(band, PROBABLE_FOREGROUND, PROBABLE_BACKGROUND).astype(np.uint8, order="C")
    if width <= 0 or not _has_both_sides(fit):
        return None  # no strip, or one of the mixtures would have nothing to learn from
    bgd_model, fgd_model = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # Seeded here: OpenCV's random generator, which its k-means uses, is per thread.
    cv2.setRNGSeed(seed)
    band_image = np.ascontiguousarray(seen[band_top:open_top, span])
    cv2.grabCut(band_image, fit, None, bgd_model, fgd_model, 0, cv2.GC_INIT_WITH_MASK)
    labels = np.where(foreground[band_top:], FOREGROUND, BACKGROUND).astype(np.uint8, order="C")
    undecided = labels[open_top - band_top :, span]
    undecided[:] = np.where(undecided == FOREGROUND, PROBABLE_FOREGROUND, PROBABLE_BACKGROUND)
    image = np.ascontiguousarray(seen[band_top:])
    cv2.grabCut(image, labels, None, bgd_model, fgd_model, 1, cv2.GC_EVAL_FREEZE_MODEL)
    return open_top, _foreground(labels[open_top - band_top :])


def _working_copy(rgb: np.ndarray, scale: float) -> np.ndarray:
    """The BGR uint8 copy of the float ``rgb`` at ``scale`` (at least 2 pixels a side)."""
    height, width = rgb.shape[:2]
    if scale < 1:
        small = (max(2, round(width * scale)), max(2, round(height * scale)))
        # Resized before rounding to 8 bits, which then touches only the small copy
        # (rounding a 12 MP photo first costs a full-resolution pass and 36 MB).
        rgb = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
    # OpenCV expects BGR; the GMMs do not care about channel order but keep it faithful.
    return np.ascontiguousarray(to_uint8(rgb)[..., ::-1])


def _labels(
    size: tuple[int, int],
    scale: float,
    rect: Box | None,
    hints: np.ndarray | None,
    inset: float,
) -> np.ndarray:
    """The starting labels of a working copy of ``size``; ValueError where GrabCut cannot
    run (no foreground, or hints without background)."""
    labels = _initial_labels(size, scale, rect, hints, inset)
    if not _foreground(labels).any():
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
    return labels


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
    maybe_fg = _foreground(labels)
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
    codes = (work.astype(np.int32) << np.array([16, 8, 0], np.int32)).sum(axis=-1)
    # Counted by a plain sort, without the inverse indices: few colours are crowded.
    colours, counts = np.unique(codes, return_counts=True)
    crowded_colours = colours[counts >= _CROWDED * codes.size]
    if not crowded_colours.size:
        return work
    crowded = np.isin(codes, crowded_colours)
    rng = np.random.default_rng(seed)
    dither = np.rint(rng.normal(0.0, _DITHER, work.shape)).astype(np.int16)
    dither[~crowded] = 0
    return np.clip(work + dither, 0, 255).astype(np.uint8)


# Share of the working copy's pixels whose label may still change when GrabCut counts as
# settled: measured on the 136 evaluation photos, stopping there gives the same scores as
# running all the iterations (mean IoU within 0.001), with a median time 15 % lower.
_SETTLED = 0.001


# Share of a working copy's pixels that must be grey (channels within _GREY_LEVELS of each
# other: a grey JPEG's chroma noise) for it to count as a grey photo.
_GREY_SHARE = 0.99
_GREY_LEVELS = 2
# Gaussian sigmas, as shares of the working copy's longest side, of the two neighbourhood
# means given to GrabCut in place of a grey photo's two redundant channels: 2 and 6 pixels
# of a 320-pixel copy (1.5/4 and 3/8 scored about the same). A share, so that the
# copies of the two sizes GrabCut works on see the same neighbourhoods.
_GREY_CONTEXT = (2 / 320, 6 / 320)


def _grey_with_context(work: np.ndarray) -> np.ndarray:
    """A grey ``work`` with its brightness and two neighbourhood means as the channels.

    On a grey photo the three channels are one, so GrabCut's colour mixtures have one
    dimension to tell subject from background by. With the local mean brightness at two
    scales beside each pixel's own, on grey versions of the evaluation photos, mean IoU
    rose from 0.11 to 0.44 (12 alphamatting photos) and from 0.25 to 0.38 (the first 40
    people photos); solved at 640 pixels without it, they scored 0.21 and 0.28. Colour
    photos are returned as they are.
    """
    channels = work.astype(np.int16)
    spread = np.maximum(
        np.abs(channels[..., 0] - channels[..., 1]), np.abs(channels[..., 1] - channels[..., 2])
    )
    if np.mean(spread <= _GREY_LEVELS) < _GREY_SHARE:
        return work
    grey = work.mean(axis=2, dtype=np.float32)
    longest = max(work.shape[:2])
    context = [cv2.GaussianBlur(grey, (0, 0), share * longest) for share in _GREY_CONTEXT]
    return to_uint8(np.stack([grey, *context], axis=-1) / 255)


class _Solver:
    """OpenCV's GrabCut, iterated on one working copy after another.

    The colour mixtures carry from a copy to the next (they describe colours, not
    pixels), and the time limit counts from the first iteration. ``step()`` is called
    between the steps (it raises to stop the work). Without ``refit`` (the automatic box
    alone) these are OpenCV's own iterations. With it, OpenCV fits the mixtures, afresh at
    each iteration after the first; the cuts of one copy are those of one
    :class:`GrabCutGraph`, each starting from the last one's flow; and the polish at the
    larger size is cut in two halves side by side (:func:`_cut_in_halves`).
    """

    def __init__(
        self, seed: int, time_limit: float | None, step: Callable[[], None], *, refit: bool
    ) -> None:
        self.seed = seed
        self.refit = refit
        self.time_limit = time_limit
        self.step = step
        self.bgd_model = np.zeros((1, 65), np.float64)
        self.fgd_model = np.zeros((1, 65), np.float64)
        self.start: float | None = None
        self.initialised = False
        self._seen: tuple[np.ndarray, np.ndarray] | None = None
        self._graph: GrabCutGraph | None = None

    def seen(self, work: np.ndarray) -> np.ndarray:
        """``work`` as GrabCut is shown it: a grey photo's context channels and the dither
        of crowded colours; the last one is kept for the next call on the same copy."""
        if self._seen is None or self._seen[0] is not work:
            self._seen = (work, _dither_flat_colours(_grey_with_context(work), self.seed))
        return self._seen[1]

    def graph(self, work: np.ndarray) -> GrabCutGraph:
        """The graph of the copy ``work`` as GrabCut is shown it, kept for the next cut
        of the same copy, which then starts from this one's flow."""
        if self._graph is None or self._graph.image is not work:
            self._graph = GrabCutGraph(work)
        return self._graph

    def colours(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the background and foreground mixtures, for :meth:`restore_colours`."""
        return self.bgd_model.copy(), self.fgd_model.copy()

    def restore_colours(self, colours: tuple[np.ndarray, np.ndarray]) -> None:
        self.bgd_model[:], self.fgd_model[:] = colours
        self.initialised = True

    def forget_colours(self) -> None:
        """Start the mixtures afresh at the next :meth:`iterate` (the time limit runs on)."""
        self.bgd_model[:] = 0
        self.fgd_model[:] = 0
        self.initialised = False

    @property
    def out_of_time(self) -> bool:
        return (
            self.start is not None
            and self.time_limit is not None
            and time.perf_counter() - self.start > self.time_limit
        )

    def iterate(self, work: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
        """Up to ``iterations`` on the BGR uint8 ``work`` from ``labels`` (updated in
        place); the hard mask as float32."""
        work = self.seen(work)
        if not self.initialised:
            # The RNG is per thread in OpenCV: seeded here, in the thread of the k-means.
            cv2.setRNGSeed(self.seed)
            # No iterations: only k-means and the first fit of the mixtures. Then one
            # iteration per call, continuing from the models, which gives the same labels
            # as one call with all the iterations but lets us stop early.
            cv2.grabCut(
                work, labels, None, self.bgd_model, self.fgd_model, 0, cv2.GC_INIT_WITH_MASK
            )
            self.initialised = True
            if self.start is None:
                self.start = time.perf_counter()
        for count in range(iterations):
            if count and self.out_of_time:
                break
            self.step()
            before = labels.copy()
            if not self.refit:
                # From the automatic box alone OpenCV's own iterations stay: the same
                # iterations on one graph scored lower there over GrabCut seeds 0-9
                # (objects.py: IoU 0.750 -> 0.736, SAD 59.8 -> 63.3).
                cv2.grabCut(work, labels, None, self.bgd_model, self.fgd_model, 1, cv2.GC_EVAL)
            else:
                if count:
                    # OpenCV's own iteration refines the mixtures' previous components.
                    # Fitted afresh to the labels instead (k-means, as at the start): on the
                    # alphamatting photos, mean of 5 seeds, IoU 0.849 -> 0.854, edge SAD
                    # 21.6 -> 20.3 (GT13 flips between two answers on the slightest change);
                    # on the people photos IoU 0.8786 -> 0.8784, MAE 0.0338 -> 0.0334.
                    if not _has_both_sides(labels):
                        break  # nothing left to fit one of the mixtures to
                    cv2.setRNGSeed(self.seed)
                    cv2.grabCut(
                        work, labels, None, self.bgd_model, self.fgd_model, 0, cv2.GC_INIT_WITH_MASK
                    )
                else:
                    _update_colours(work, labels, self.bgd_model, self.fgd_model)
                self.graph(work).cut(labels, self.bgd_model, self.fgd_model)
            if np.count_nonzero(labels != before) <= _SETTLED * labels.size:
                break  # settled: another iteration would refit nearly the same models
        return _foreground(labels).astype(np.float32)

    def polish(self, work: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One cut of the BGR uint8 ``work`` from ``labels`` (updated in place), with the
        mixtures as they are when refitting, else one of OpenCV's iterations; the hard mask
        as float32. (A second iteration at ``max_side`` gained 0.005 IoU on the
        alphamatting photos for a third more time.)

        A new copy's graph has no flow to start from, and OpenCV releases the GIL while it
        cuts, which PyMaxflow does not: the halves on two cores are the quicker cut here
        (GT13 at 1 MP, whole photo: 0.97 s with OpenCV's halves, 1.10 s with one graph)."""
        if not self.refit:
            return self.iterate(work, labels, 1)
        work = self.seen(work)
        self.step()
        _cut_in_halves(work, labels, self.bgd_model, self.fgd_model)
        return _foreground(labels).astype(np.float32)


def _update_colours(
    work: np.ndarray, labels: np.ndarray, bgd_model: np.ndarray, fgd_model: np.ndarray
) -> None:
    """OpenCV's update of the mixtures from ``labels`` (each pixel to its likeliest
    component, then each component refitted), without its cut: the same call on labels
    all made definite, whose cut has nothing left to decide."""
    decided = np.where(_foreground(labels), FOREGROUND, BACKGROUND).astype(np.uint8)
    cv2.grabCut(work, decided, None, bgd_model, fgd_model, 1, cv2.GC_EVAL)


def _foreground(labels: np.ndarray) -> np.ndarray:
    """Where GrabCut's ``labels`` say (probable) foreground, as a bool mask."""
    return (labels == FOREGROUND) | (labels == PROBABLE_FOREGROUND)


def _has_both_sides(labels: np.ndarray) -> bool:
    foreground = _foreground(labels)
    return bool(foreground.any() and not foreground.all())


# Rows each half of a split cut reaches into the other; the cut near a half's end, which
# sees nothing beyond it, is not kept. Against one uncut graph, on the alphamatting and 30
# people photos, labels differed in 0.23 % of the pixels on average (at most 3.7 %) with
# 16 rows, 0.03 % (at most 1.0 %) with 64; 48 scored best on the alphamatting photos.
_HALF_OVERLAP = 48


def _cut_in_halves(
    work: np.ndarray, labels: np.ndarray, bgd_model: np.ndarray, fgd_model: np.ndarray
) -> None:
    """One graph cut with the mixtures fixed, its top and bottom halves solved side by
    side (OpenCV releases the GIL): the max-flow is GrabCut's slow part, and the fixed
    mixtures make the halves one problem split in two. ``labels`` is updated in place."""
    middle = work.shape[0] // 2
    if middle <= 2 * _HALF_OVERLAP:
        cv2.grabCut(work, labels, None, bgd_model, fgd_model, 1, cv2.GC_EVAL_FREEZE_MODEL)
        return
    top = labels[: middle + _HALF_OVERLAP].copy()
    bottom = labels[middle - _HALF_OVERLAP :].copy()

    def cut(rows: slice, half: np.ndarray) -> None:
        # Each call gets its own copies of the mixtures, which OpenCV takes as read-write.
        image = np.ascontiguousarray(work[rows])
        cv2.grabCut(
            image, half, None, bgd_model.copy(), fgd_model.copy(), 1, cv2.GC_EVAL_FREEZE_MODEL
        )

    with ThreadPoolExecutor(max_workers=1) as pool:
        lower = pool.submit(cut, slice(middle - _HALF_OVERLAP, None), bottom)
        cut(slice(None, middle + _HALF_OVERLAP), top)
        lower.result()
    labels[:middle] = top[:middle]
    labels[middle:] = bottom[_HALF_OVERLAP:]


def _initial_labels(size, scale, rect, hints, inset) -> np.ndarray:
    height, width = size
    if isinstance(rect, str) or (rect is None and hints is None):  # "auto", the only one
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
        resized = _resize_hints(hints, (height, width))
        if rect_small is None:
            return resized.copy()
        # Definite hints win everywhere (a stroke may reach outside the box); probable
        # hints only refine the inside of the box, which is all GrabCut may decide.
        definite = (resized == FOREGROUND) | (resized == BACKGROUND)
        probable_inside = ~definite & (labels == PROBABLE_FOREGROUND)
        labels = np.where(definite | probable_inside, resized, labels).astype(np.uint8)
    return labels


def _resize_hints(hints: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``hints`` at ``size`` (height, width), keeping every definite label a cell holds.

    A nearest-neighbour resize samples one pixel per cell: a user's stroke a few pixels
    wide on a 12 MP photo, a fraction of a pixel of the working copy, would mostly fall
    between the samples. Each cell a definite label touches keeps it instead (the label
    covering more of the cell where both do); the rest is sampled as before.
    """
    height, width = size
    if hints.shape == (height, width):
        return hints.copy()
    resized = cv2.resize(hints, (width, height), interpolation=cv2.INTER_NEAREST)
    cover = {
        code: cv2.resize(
            (hints == code).astype(np.float32), (width, height), interpolation=cv2.INTER_AREA
        )
        for code in (FOREGROUND, BACKGROUND)
    }
    fg, bg = cover[FOREGROUND], cover[BACKGROUND]
    resized[(bg > 0) & (bg > fg)] = BACKGROUND
    resized[(fg > 0) & (fg >= bg)] = FOREGROUND
    return resized


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
