"""The table of methods: one entry per way of finding the subject, read by every front end.

:func:`alphacut.remove_background` dispatches through :data:`METHODS`, and the command
line, the napari widgets and the GIMP plug-in take their method lists, labels, help texts
and refinement defaults from it. A new method is one module with a function that returns
an alpha, plus one :class:`MethodSpec` here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["METHODS", "MethodRun", "MethodSpec", "get_method", "method_function"]


@dataclass
class MethodRun:
    """One call of a method: what it is given, and what it records beside its alpha.

    Attributes
    ----------
    rgb : ndarray
        float32 HxWx3 photo in [0, 1]; read only.
    options : dict
        The caller's method options (``model``, ``device``, ``rect``, ``hints``,
        ``key_color``, ``tolerance``, ``softness``, ``despill``); a method reads the ones
        it knows.
    step : callable
        ``step(name, func)`` runs ``func()`` as a named step: progress is reported and
        the seconds land in ``Matte.timings``.
    notes : list of str
        Remarks for the user (``Matte.notes``): what ran and why.
    method : str
        The method whose alpha is returned; ``"auto"`` sets the one it picked.
    foreground : ndarray or None
        Decontaminated colours, for a method that produces its own (chroma).
    provider : str or None
        The ONNX Runtime execution provider, for methods that run a model.
    model : str or None
        The name of the neural model whose answer the result was made from or handed on
        from (the general one where two ran); see :attr:`alphacut.Matte.model`.
    refinement : dict
        Refinement defaults suited to this result (see
        :data:`alphacut.api.GENERAL_SUBJECT_REFINEMENT`); the caller's options win.
    """

    rgb: np.ndarray
    options: dict[str, Any]
    step: Callable[[str, Callable[[], Any]], Any]
    notes: list[str] = field(default_factory=list)
    method: str = ""
    foreground: np.ndarray | None = None
    provider: str | None = None
    model: str | None = None
    refinement: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodSpec:
    """One method: its name, what the user sees of it, and the function that runs it.

    Attributes
    ----------
    name : str
        What ``remove_background(method=...)`` and ``--method`` take.
    label : str
        Short name in menus (napari, GIMP).
    help : str
        One line: what it does and when to use it (CLI help, tooltips, GIMP's dialog).
    function : str or callable
        ``function(run: MethodRun) -> ndarray`` returning float32 HxW alpha in [0, 1];
        a ``"module:name"`` string is imported on first use, so that the table loads
        without the methods' dependencies.
    options : tuple of str
        The method options (:attr:`MethodRun.options` keys) it reads, so that front ends
        show only the controls that matter.
    refine : bool
        Whether its alpha is refined (trimap, matting, decontamination) by default.
    compare : bool
        Whether napari's Compare Methods runs it (``auto`` only repeats another method).
    """

    name: str
    label: str
    help: str
    function: str | Callable[[MethodRun], np.ndarray]
    options: tuple[str, ...] = ()
    refine: bool = True
    compare: bool = True


_MODEL_OPTIONS = ("model", "device", "rect")
_CHROMA_OPTIONS = ("key_color", "tolerance", "softness", "despill")

# Order is the order of menus: the default first.
METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "auto",
            "Automatic",
            "chroma key when the border is a green or blue screen, else the neural model, "
            "else GrabCut; says which ran and why",
            "alphacut.api:run_auto",
            # Not key_color: auto keys only the colour it finds on the border.
            options=(*_MODEL_OPTIONS, "hints", *_CHROMA_OPTIONS[1:]),
            compare=False,
        ),
        MethodSpec(
            "neural",
            "Neural network",
            "a segmentation model (the embedded one finds people; install a general model "
            "for objects, plants and animals)",
            "alphacut.api:run_neural",
            options=(*_MODEL_OPTIONS, "hints"),
        ),
        MethodSpec(
            "chroma",
            "Chroma key",
            "a plain backdrop keyed out: a green or blue screen, or any one colour (cyan, grey, "
            "white) found on the border or given; soft edge and despill",
            "alphacut.api:run_chroma",
            options=_CHROMA_OPTIONS,
            refine=False,
        ),
        MethodSpec(
            "grabcut",
            "GrabCut",
            "graph cut of the subject by its colours, inside a box you draw or from your "
            "strokes; without them, started from what the person model is sure of; any "
            "subject",
            "alphacut.api:run_grabcut",
            options=("device", "rect", "hints"),
        ),
    )
}


def get_method(name: str) -> MethodSpec:
    """The registered method called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS`.

    Returns
    -------
    MethodSpec

    Raises
    ------
    ValueError
        An unknown name; the message lists the known ones.

    Examples
    --------
    >>> get_method("grabcut").label
    'GrabCut'
    """
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}") from None


def method_function(spec: MethodSpec) -> Callable[[MethodRun], np.ndarray]:
    """The callable behind ``spec.function``, imported if given as ``"module:name"``.

    Parameters
    ----------
    spec : MethodSpec
        A registry entry.

    Returns
    -------
    callable
        ``function(run: MethodRun) -> ndarray``.
    """
    if callable(spec.function):
        return spec.function
    module, _, name = spec.function.partition(":")
    return getattr(importlib.import_module(module), name)
