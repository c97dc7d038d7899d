"""The "Remove Background" widget: one method on an image or a stack, results as layers."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    LineEdit,
    PushButton,
    SpinBox,
    Widget,
)
from napari.layers import Image, Labels, Shapes
from napari.utils.colormaps.standardize_color import transform_color
from psygnal import Signal
from qtpy.QtWidgets import QFileDialog

from alphacut.api import remove_background
from alphacut.io import display, write_image
from alphacut.methods.registry import METHODS, get_method
from alphacut.models import MODEL_SPECS
from alphacut.models.session import available_devices
from alphacut.napari._controls import (
    LayerPicker,
    RunControls,
    keep_title_readable,
    new_hints_layer,
    wrap_tooltips,
)
from alphacut.napari._jobs import Job, JobOwner, Reporter, describe
from alphacut.napari._layers import (
    ImageSource,
    current_frame,
    find_layer,
    hints_for_frame,
    hints_from_labels,
    rect_from_shapes,
    show_layer,
)
from alphacut.napari._lazy import LazyCutouts, is_lazy
from alphacut.napari._models import DEFAULT_CHOICE, ModelPicker, ensure_model, general_model_hint

if TYPE_CHECKING:
    import napari

__all__ = ["RemoveBackgroundWidget", "RemoveResult", "checkerboard"]

REFINE_CHOICES = {"default": None, "on": True, "off": False}
SAVE_FILTERS = "PNG image (*.png);;WebP image, lossless (*.webp)"
SAVE_SUFFIXES = (".png", ".webp")

log = logging.getLogger(__name__)

# What the refinement controls start at: the core's defaults (band 0 is "auto", None).
REFINE_DEFAULTS = {"band": 0, "feather_sigma": 1.0, "matting": True, "decontaminate": True}


def checkerboard(shape: tuple[int, int]) -> np.ndarray:
    """Two mid greys in squares, as image editors show transparency.

    Parameters
    ----------
    shape : tuple of int
        Height and width.

    Returns
    -------
    ndarray
        uint8, ``shape``: 102 and 153 in squares of about 1/32 of the short side (8 px or
        more).
    """
    height, width = shape
    square = max(8, min(height, width) // 32)
    rows = (np.arange(height) // square)[:, None]
    cols = (np.arange(width) // square)[None, :]
    return np.where((rows + cols) % 2 == 0, np.uint8(102), np.uint8(153))


@dataclass
class RemoveResult:
    """What one run produced, stacked like the input's frames."""

    source: ImageSource
    alpha: np.ndarray
    mask: np.ndarray
    rgba: np.ndarray
    methods: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    """The core's notes (e.g. why ``auto`` chose its method), each once."""
    refined: bool = False
    """Whether edge refinement ran."""
    model: str | None = None
    """The neural model that ran (:attr:`alphacut.Matte.model`; ``None``: none ran)."""
    downloaded: bool = False
    """Whether the model was downloaded for this run."""
    edge_uncertainty: list[float] = field(default_factory=list)
    """Per frame: share of the outline where the method was unsure (``Matte``'s)."""
    lazy: LazyCutouts | None = None
    """For a lazy (dask) stack: the frames computed on demand; the arrays are dask's."""


class RemoveBackgroundWidget(JobOwner, Container):
    """Remove the background of an Image layer with one method.

    Results go to ``<name> alpha`` (float Image, 0..1), ``<name> mask`` (Labels) and
    ``<name> cut-out`` (RGBA Image), refreshed in place on every run. A stack (time series,
    z-stack) is processed frame by frame. Options appear only for the method that uses
    them; a Shapes rectangle and a painted Labels layer guide GrabCut and the refinement.
    """

    done = Signal(object)
    """Emitted on the GUI thread after a run: the :class:`RemoveResult`, or ``None``."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self._viewer = viewer
        self._job: Job | None = None
        self.last_result: RemoveResult | None = None

        self._image = LayerPicker(
            viewer, (Image,), name="image", label="image",
            tooltip="the photo (or stack of frames) to cut out; a stack is done frame by "
            "frame",
        )  # fmt: skip
        self._method = ComboBox(
            name="method",
            label="method",
            choices=[(spec.label, name) for name, spec in METHODS.items()],
            value="auto",
            tooltip="\n".join(f"{spec.label}: {spec.help}" for spec in METHODS.values()),
        )
        # neural
        self._model = ModelPicker(name="model", label="model")
        self._device = ComboBox(
            name="device",
            label="device",
            choices=available_devices(),
            value="auto",
            tooltip="where the neural model runs: auto takes a GPU when onnxruntime offers "
            "one, else the CPU. Only the devices this onnxruntime build offers are listed "
            "(a CUDA GPU needs the onnxruntime-gpu package)",
        )
        # chroma
        self._key_color = LineEdit(
            name="key_color",
            label="key colour",
            value="auto",
            tooltip="the backdrop colour to key out: 'auto' (estimated from the border: a "
            "green or blue screen, or any one colour), a colour name or #rrggbb",
        )
        self._tolerance = FloatSpinBox(
            name="tolerance",
            label="tolerance (0 = auto)",
            value=0.0,
            min=0.0,
            max=2.0,
            step=0.01,
            tooltip="how far from the key colour (in units of its saturation; for a grey or "
            "white key, of a pale pastel's) a pixel is "
            "still pure screen: higher keys out more of an unevenly lit screen, and "
            "eats into green-tinged edges. 0: from the spread of the screen's own pixels",
        )
        self._softness = FloatSpinBox(
            name="softness",
            label="softness",
            value=0.6,
            min=0.01,
            max=3.0,
            step=0.05,
            tooltip="width of the ramp from transparent to opaque beyond the tolerance: "
            "higher gives softer, more see-through edges (hair, motion blur), lower harder "
            "ones",
        )
        self._despill = CheckBox(
            name="despill",
            label="despill",
            value=True,
            tooltip="remove the screen's colour cast from the subject (green fringes on hair "
            "and edges); off keeps the photo's colours as they are",
        )
        # GrabCut
        self._rect = LayerPicker(
            viewer,
            (Shapes,),
            name="rect",
            label="rectangle",
            optional=True,
            tooltip="a Shapes layer whose rectangle (selected, else last) boxes the subject: "
            "nothing outside it is kept",
        )
        self._hints = LayerPicker(
            viewer,
            (Labels,),
            name="hints",
            label="hints",
            optional=True,
            tooltip="paint 1 = foreground, 2 = background (3/4 = probable): guides GrabCut "
            "and is kept definite by the refinement",
        )
        self._new_hints = PushButton(
            name="new_hints",
            text="New hints layer",
            tooltip="add an empty Labels layer over the photo to paint hints on (label 1 "
            "foreground in green, 2 background in magenta), and pick it above",
        )
        # refinement
        self._refine = ComboBox(
            name="refine",
            label="refine edges",
            choices=list(REFINE_CHOICES),
            value="default",
            tooltip="re-solve the edge band of the coarse alpha from the photo's colours "
            "(matting) and clean its colours. default: on for neural and GrabCut, off for "
            "chroma; changing an option below asks for it on chroma too",
        )
        self._band = SpinBox(
            name="band",
            label="band px (0 = auto)",
            value=0,
            min=0,
            max=1000,
            tooltip="width in pixels of the uncertain edge band that is re-solved: wider "
            "catches more stray hair, and takes longer and may blur a clean edge. 0: the "
            "coarse alpha's own soft edge, 2% of the short side where it is hard",
        )
        self._feather = FloatSpinBox(
            name="feather",
            label="feather σ px",
            value=1.0,
            min=0.0,
            max=20.0,
            step=0.5,
            tooltip="Gaussian blur of the edge band in pixels, after matting: higher gives "
            "a softer edge, 0 none. Left at 1, alphacut decides (0 for a general model's "
            "subjects that are not people)",
        )
        self._matting = CheckBox(
            name="matting",
            label="alpha matting",
            value=True,
            tooltip="solve the alpha of the edge band from the photo (fine hair, fur, "
            "leaves); off keeps the method's own alpha there and is faster",
        )
        self._decontaminate = CheckBox(
            name="decontaminate",
            label="decontaminate",
            value=True,
            tooltip="estimate the subject's own colours in see-through edge pixels, so the "
            "old background does not show as a halo on a new one",
        )
        self._save = PushButton(
            name="save",
            text="Save cut-out…",
            enabled=False,
            tooltip="write the last cut-out (the frame on show, for a stack) to a PNG or "
            "WebP file with its transparency",
        )
        self.controls = RunControls(self._run, self.cancel)

        super().__init__(
            widgets=[
                self._image, self._method,
                self._model, self._device,
                self._key_color, self._tolerance, self._softness, self._despill,
                self._rect, self._hints, self._new_hints,
                self._refine, self._band, self._feather, self._matting, self._decontaminate,
                self.controls, self._save,
            ]
        )  # fmt: skip
        self._method.changed.connect(self._update_visibility)
        self._refine.changed.connect(self._update_visibility)
        self._new_hints.changed.connect(self._add_hints_layer)
        self._save.changed.connect(self._save_cutout)
        self._update_visibility()
        self._watch_close()
        keep_title_readable(self)
        wrap_tooltips(self)

    # -- options ---------------------------------------------------------------------------

    def _refine_on(self) -> bool | None:
        """Whether refinement runs: True/False, or None where only the core can tell."""
        choice = REFINE_CHOICES[self._refine.value]
        if choice is not None:
            return choice
        if self._method.value == "auto":
            return None  # auto refines unless it keys a screen
        return get_method(self._method.value).refine

    def _relevant(self) -> dict[Widget, bool]:
        """Which option controls the current method and refinement setting use."""
        reads = set(get_method(self._method.value).options)
        refine = self._refine_on()
        hints = "hints" in reads or refine is not False
        return {
            self._model: "model" in reads,
            self._device: "device" in reads,
            self._key_color: "key_color" in reads,
            self._tolerance: "tolerance" in reads,
            self._softness: "softness" in reads,
            self._despill: "despill" in reads,
            self._rect: "rect" in reads,
            self._hints: hints,
            self._new_hints: hints,
            # Also where only the core can tell (auto): it refines unless it keys a screen.
            self._band: refine is not False,
            self._feather: refine is not False,
            self._matting: refine is not False,
            self._decontaminate: refine is not False,
        }

    def shown_options(self) -> set[str]:
        """Names of the option controls on show (``visible`` also needs a shown window)."""
        return {widget.name for widget, relevant in self._relevant().items() if relevant}

    def _update_visibility(self, *_: Any) -> None:
        for widget, relevant in self._relevant().items():
            widget.visible = relevant

    def _options(self, source: ImageSource) -> dict[str, Any]:
        """``remove_background`` keyword arguments from the visible controls."""
        method = self._method.value
        relevant = self._relevant()
        options: dict[str, Any] = {"method": method}
        if relevant[self._model]:
            options["device"] = self._device.value
            if self._model.value != DEFAULT_CHOICE:
                # "default" passes nothing: the core's own choice of model.
                options["model"] = self._model.value
        # The keying controls of the method (auto keys too, with the colour it finds).
        if relevant[self._key_color]:
            options["key_color"] = _parse_color(self._key_color.value)
        if relevant[self._tolerance]:
            options.update(
                tolerance=self._tolerance.value or None,
                softness=self._softness.value,
                despill=self._despill.value,
            )
        rect = None
        if relevant[self._rect] and self._rect.value is not None:
            rect = rect_from_shapes(self._rect.value, source)
            options["rect"] = rect
        if relevant[self._hints] and self._hints.value is not None:
            options["hints"] = hints_from_labels(
                self._hints.value, source, with_rect=rect is not None
            )
        refine = self._refine_on()
        options["refine"] = refine
        if refine is not False:
            options.update(self._refine_options())
        return options

    def _refine_options(self) -> dict[str, Any]:
        """The refinement options the user changed from their defaults.

        Only those, as the command line passes only the options given: the core's own
        defaults then apply (no feathering for a general model's subjects, say), so that
        napari's default run is the CLI's. Under ``auto`` or ``default``, a changed one asks
        for refinement even of a chroma key, as it does in the core.
        """
        controls = {
            "band": self._band,
            "feather_sigma": self._feather,
            "matting": self._matting,
            "decontaminate": self._decontaminate,
        }
        return {
            key: widget.value
            for key, widget in controls.items()
            if widget.value != REFINE_DEFAULTS[key]
        }

    def _image_source(self) -> ImageSource:
        if self._image.value is None:
            raise ValueError("add an image layer first")
        return ImageSource.from_layer(self._image.value)

    def _add_hints_layer(self, *_: Any) -> None:
        if self._image.value is None:
            return
        layer = new_hints_layer(self._viewer, self._image.value)
        self._hints.value = layer

    # -- running ---------------------------------------------------------------------------

    def _result_names(self, subject: str) -> list[str]:
        # Not the checkerboard: it is the same whatever ran, never stale.
        return [f"{subject} {kind}" for kind in ("alpha", "mask", "cut-out")]

    def _run(self, *_: Any) -> None:
        if self._job is not None:
            return
        layer = self._image.value
        try:
            source = self._image_source()
            options = self._options(source)
        except Exception as error:
            self._refuse("Remove Background", error, None if layer is None else layer.name)
            return
        self._subject = source.name
        frames = int(np.prod(source.stack_shape, dtype=np.int64))
        work = _remove_frames(source, options)
        if source.stack_shape and is_lazy(source.data):
            # A lazy stack is cut out as napari shows it; the frame on show goes first.
            on_show = current_frame(self._viewer, source, layer)
            work, frames = _remove_lazily(source, options, on_show), 1
        self._job = Job(
            work,
            total=frames,
            title=f"Remove Background ({source.name})",
            on_done=self._show,
            on_finish=self._finished,
            status=self._set_status,
            on_progress=self.controls.show_progress,
        )
        self.controls.set_running(True)
        self.controls.status.value = "running…"
        self._job.start()

    def _set_status(self, text: str) -> None:
        self.controls.status.value = text

    def _finished(self) -> None:
        super()._finished()
        # A download (even a cancelled one) changes what is installed.
        self._model.reset_choices()

    def _show(self, result: RemoveResult) -> None:
        source = result.source
        name = source.name
        # The alpha and mask are there to inspect, not to look through: hidden. The cut-out
        # is shown over a checkerboard, as image editors show transparency. Over its own
        # alpha (black where the background was) or napari's black canvas, a dark halo left
        # from the old background is invisible, and over the photo it came from the
        # cut-out looks as if nothing happened; two mid greys show dark and light fringes
        # alike. The photo stays visible under it all: it is the user's layer.
        show_layer(
            self._viewer, f"{name} alpha", Image, result.alpha, like=source,
            colormap="gray", contrast_limits=(0.0, 1.0), visible=False,
        )  # fmt: skip
        show_layer(
            self._viewer, f"{name} mask", Labels, result.mask, like=source,
            opacity=0.5, visible=False,
        )  # fmt: skip
        # One frame for a whole stack: napari shows a 2D layer on every slice.
        frame = replace(source, scale=source.scale[-2:], translate=source.translate[-2:])
        show_layer(
            self._viewer, f"{name} checkerboard", Image, checkerboard(source.frame_shape),
            like=frame, colormap="gray", contrast_limits=(0.0, 255.0),
        )  # fmt: skip
        show_layer(self._viewer, f"{name} cut-out", Image, result.rgba, like=source, rgb=True)
        self.controls.status.value = _status(result)
        self.last_result = result
        self._save.enabled = True

    def _save_cutout(self, *_: Any) -> None:
        """Ask for a file and write the last cut-out there (the frame on show of a stack)."""
        from napari.utils.notifications import show_error

        result = self.last_result
        if result is None:
            return
        frame = ()
        if result.source.stack_shape:
            layer = find_layer(self._viewer, result.source.name)
            if layer is not None:
                frame = current_frame(self._viewer, result.source, layer)
        suffix = "_" + "_".join(str(i) for i in frame) if frame else ""
        start = str(Path.home() / f"{result.source.name}{suffix}.png")
        path, chosen = QFileDialog.getSaveFileName(
            self.native, "Save the cut-out", start, SAVE_FILTERS
        )
        if not path:
            return  # the user closed the dialog
        target = Path(path)
        if target.suffix.lower() not in SAVE_SUFFIXES:
            # A name typed without its extension gets the one of the chosen file type.
            target = target.with_name(target.name + (".webp" if "webp" in chosen else ".png"))
        try:
            # The dialog has asked before replacing a file: the answer was yes.
            # np.asarray: a lazy stack's frame is computed (or taken from the cache) here.
            write_image(target, np.asarray(result.rgba[frame]), overwrite=True)
        except (OSError, ValueError) as error:
            log.warning("saving the cut-out to %s failed", target, exc_info=True)
            self.controls.status.value = f"not saved: {describe(error)}"
            show_error(f"Remove Background: not saved: {describe(error)}")
            return
        where = f"frame {', '.join(str(i + 1) for i in frame)} " if frame else ""
        self.controls.status.value = f"saved {where}to {display(target)}"


def _status(result: RemoveResult) -> str:
    """What ran, why (the core's notes), and how to get a general model if there is none."""
    used = ", ".join(f"{m} ×{n}" if n > 1 else m for m, n in Counter(result.methods).items())
    model = ""
    if result.model is not None:
        fetched = ", downloaded" if result.downloaded else ""
        model = f" (model {result.model}{fetched})"
    refined = " + refinement" if result.refined else ""
    lines = [f"{used}{model}{refined}: {result.seconds:.2f} s", *result.notes]
    if result.lazy is not None:
        lines.insert(1, "lazy stack: the frame on show is done; others are cut out as shown")
    if result.edge_uncertainty:
        shares = result.edge_uncertainty
        worst = int(np.argmax(shares))
        where = f" (frame {worst + 1} of {len(shares)})" if len(shares) > 1 else ""
        lines.append(
            f"outline unsure: {shares[worst]:.0%}{where}; the higher, the more the edge "
            "(hair, fur, leaves) is worth checking"
        )
    spec = MODEL_SPECS.get(result.model or "")
    person_only = spec is None or spec.subject == "person"
    said = any("alphacut models" in note for note in result.notes)
    if person_only and not said and {"neural", "grabcut"} & set(result.methods):
        lines.append(general_model_hint())
    return "\n".join(line for line in lines if line)


def _remove_frames(
    source: ImageSource, options: dict[str, Any]
) -> Callable[[Reporter], Generator[int, None, RemoveResult]]:
    """The worker's generator: the model downloaded if need be, then every frame through
    ``remove_background``."""
    hints = options.pop("hints", None)

    def work(report: Reporter) -> Generator[int, None, RemoveResult]:
        downloaded = "model" in options and ensure_model(options["model"], report)
        start = time.perf_counter()
        stack, (height, width) = source.stack_shape, source.frame_shape
        alpha = np.empty((*stack, height, width), np.float32)
        mask = np.empty((*stack, height, width), np.uint8)
        rgba = np.empty((*stack, height, width, 4), np.uint8)
        methods: list[str] = []
        ran: str | None = None
        notes: list[str] = []
        steps: set[str] = set()
        uncertainty: list[float] = []

        def step(name: str) -> None:
            steps.add(name)
            report(name)

        for count, index in enumerate(source.indices()):
            matte = remove_background(
                source.frame(index),
                hints=hints_for_frame(hints, index),
                progress=step,
                **options,
            )
            alpha[index] = matte.alpha
            mask[index] = matte.mask
            rgba[index] = matte.rgba()
            methods.append(matte.method)
            ran = matte.model or ran
            if matte.edge_uncertainty is not None:
                uncertainty.append(matte.edge_uncertainty)
            notes.extend(note for note in matte.notes if note not in notes)
            yield count
        seconds = time.perf_counter() - start
        refined = "refine" in steps
        return RemoveResult(
            source, alpha, mask, rgba, methods, seconds, notes, refined,
            model=ran, downloaded=downloaded, edge_uncertainty=uncertainty,
        )  # fmt: skip

    return work


def _remove_lazily(
    source: ImageSource, options: dict[str, Any], on_show: tuple[int, ...]
) -> Callable[[Reporter], Generator[int, None, RemoveResult]]:
    """The worker's generator for a lazy stack: the model downloaded if need be, the frame
    on show computed, then lazy result stacks whose other frames napari computes as it
    shows them (see :mod:`alphacut.napari._lazy`)."""

    def work(report: Reporter) -> Generator[int, None, RemoveResult]:
        downloaded = "model" in options and ensure_model(options["model"], report)
        start = time.perf_counter()
        steps: set[str] = set()

        def step(name: str) -> None:
            steps.add(name)
            report(name)

        cutouts = LazyCutouts(source, options, progress=step)
        matte = cutouts.matte(on_show)
        cutouts.progress = None  # later frames are computed outside any job
        yield 0
        alpha, mask, rgba = cutouts.layers()
        return RemoveResult(
            source, alpha, mask, rgba, [matte.method], time.perf_counter() - start,
            list(matte.notes), "refine" in steps, model=matte.model,
            downloaded=downloaded,
            edge_uncertainty=[] if matte.edge_uncertainty is None else [matte.edge_uncertainty],
            lazy=cutouts,
        )  # fmt: skip

    return work


def _parse_color(text: str) -> tuple[float, float, float] | None:
    text = text.strip()
    if not text or text.lower() == "auto":
        return None
    try:
        rgba = transform_color(text)[0]
    except (ValueError, KeyError) as error:
        raise ValueError(f"key colour {text!r} is not a colour name or #rrggbb") from error
    return tuple(float(c) for c in rgba[:3])
