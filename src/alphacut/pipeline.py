"""``remove_background``: method choice, the method itself, then edge refinement."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from alphacut.imageops import as_float_rgb
from alphacut.matte import Matte
from alphacut.methods.chroma import chroma_matte, estimate_key_color
from alphacut.methods.grabcut import BACKGROUND, FOREGROUND, grabcut
from alphacut.methods.neural import neural
from alphacut.models import DEFAULT_MODEL, ModelSpec, load_model

__all__ = ["remove_background", "METHODS", "has_subject"]

METHODS = ("auto", "neural", "chroma", "grabcut")

# Below this share of the photo, a network's "subject" is noise, not a subject: auto falls
# back to GrabCut, which always finds the most object-like region inside its box.
MIN_SUBJECT_FRACTION = 0.01


def has_subject(alpha: np.ndarray, *, min_fraction: float = MIN_SUBJECT_FRACTION) -> bool:
    """Whether a matte holds a subject: enough pixels at alpha ≥ 0.5."""
    return bool(np.mean(alpha >= 0.5) >= min_fraction)


def remove_background(
    image: np.ndarray,
    method: str = "auto",
    *,
    refine: bool | None = None,
    model: str | ModelSpec = DEFAULT_MODEL,
    device: str = "auto",
    rect: tuple[int, int, int, int] | None = None,
    hints: np.ndarray | None = None,
    key_color: tuple[float, float, float] | None = None,
    tolerance: float | None = None,
    softness: float | None = None,
    despill: bool = True,
    progress: Callable[[str], Any] | None = None,
    **refine_options: Any,
) -> Matte:
    """Separate the subject of a photo from its background.

    Parameters
    ----------
    image : ndarray
        HxWx3 RGB (uint8 or float in [0, 1]); HxWx4 (alpha ignored) and HxW grey also work.
        Never modified.
    method : {"auto", "neural", "chroma", "grabcut"}
        ``"auto"`` keys a green/blue screen when the border is one, else runs the neural
        model, and falls back to GrabCut with an automatic rectangle when the model finds
        no subject (the default model only knows people). ``Matte.method`` says which ran.
    refine : bool, optional
        Trimap → alpha matting → colour decontamination on the edge. Default: on for
        neural and GrabCut, off for chroma (whose alpha is already soft and whose colours
        are decontaminated against the known screen colour) unless refinement options are
        given.
    model, device
        The neural model (a name from :data:`alphacut.models.MODEL_SPECS`) and the ONNX
        Runtime device (``"auto"``, ``"cpu"``, ``"cuda"``, ...).
    rect : tuple of int, optional
        ``(x, y, width, height)`` around the subject, for GrabCut.
    hints : ndarray, optional
        uint8 HxW GrabCut labels (0 background, 1 foreground, 2/3 probable): guide GrabCut,
        and their definite labels are kept definite by the refinement.
    key_color, tolerance, softness, despill
        Chroma-key options (see :func:`alphacut.methods.chroma.chroma`).
    progress : callable, optional
        Called with the name of each step as it starts (for progress displays).
    **refine_options
        Passed to :func:`alphacut.refine.refine` (``band``, ``feather_sigma``, ``matting``,
        ``decontaminate``, ``thresholds``, ``trimap``).

    Returns
    -------
    Matte

    Examples
    --------
    >>> from skimage.data import astronaut
    >>> matte = remove_background(astronaut(), refine=False)
    >>> matte.method, matte.alpha.dtype, matte.rgba().shape
    ('neural', dtype('float32'), (512, 512, 4))
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    rgb = as_float_rgb(image)
    if min(rgb.shape[:2]) < 8:
        raise ValueError(f"image is too small ({rgb.shape[1]}x{rgb.shape[0]} pixels)")
    timings: dict[str, float] = {}
    notes: list[str] = []

    def step(name: str, func: Callable[[], Any]) -> Any:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        result = func()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        return result

    chosen = method
    if method == "auto":
        found_key = step("detect", lambda: estimate_key_color(rgb))
        if found_key is not None:
            chosen, key_color = "chroma", found_key
            notes.append("auto: the border is a uniform key colour, so chroma keying ran")
        else:
            chosen = "neural"

    foreground = None
    provider = None
    if chosen == "chroma":
        alpha, foreground = step(
            "chroma",
            lambda: chroma_matte(
                rgb, key_color=key_color, tolerance=tolerance, softness=softness, despill=despill
            ),
        )
    elif chosen == "neural":
        loaded = step("load model", lambda: load_model(model, device=device))
        provider = loaded.provider
        alpha = step("neural", lambda: neural(rgb, loaded=loaded))
        if method == "auto":
            if has_subject(alpha):
                notes.append("auto: no key-colour border; the neural model found a subject")
            else:
                chosen = "grabcut"
                notes.append("auto: the neural model found no subject; fell back to GrabCut")
    if chosen == "grabcut":
        alpha = step("grabcut", lambda: grabcut(rgb, rect=rect, hints=hints))

    if refine is None:
        # Asking for a refinement option (a band, a feather) is asking for refinement,
        # even on chroma, which is not refined by default.
        refine = chosen != "chroma" or bool(refine_options)
    if refine:
        from alphacut.refine import refine as refine_edges

        definite_fg = definite_bg = None
        if hints is not None:
            definite_fg, definite_bg = hints == FOREGROUND, hints == BACKGROUND
        if progress is not None:
            progress("refine")
        result = refine_edges(
            rgb,
            alpha,
            definite_foreground=definite_fg,
            definite_background=definite_bg,
            **refine_options,
        )
        alpha = result.alpha
        if foreground is None or refine_options.get("decontaminate", True):
            foreground = result.foreground
        for name, seconds in result.timings.items():
            timings[name] = timings.get(name, 0.0) + seconds
    elif refine_options:
        unused = ", ".join(sorted(refine_options))
        raise TypeError(f"refinement options given but refine is off: {unused}")

    if foreground is None:
        foreground = rgb
    return Matte(
        alpha=np.clip(alpha, 0.0, 1.0).astype(np.float32),
        foreground=np.asarray(foreground, np.float32),
        method=chosen,
        timings=timings,
        notes=notes,
        provider=provider,
    )
