"""The "Remove Background" widget: one method on an image or a stack, results as layers."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
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

from alphacut.api import remove_background
from alphacut.methods.registry import METHODS, get_method
from alphacut.models import MODEL_SPECS
from alphacut.napari._controls import LayerPicker, RunControls, new_hints_layer
from alphacut.napari._jobs import Job, JobOwner, Reporter
from alphacut.napari._layers import (
    ImageSource,
    hints_for_frame,
    hints_from_labels,
    rect_from_shapes,
    show_layer,
)
from alphacut.napari._models import DEFAULT_CHOICE, ModelPicker, ensure_model, general_model_hint

if TYPE_CHECKING:
    import napari

__all__ = ["RemoveBackgroundWidget", "RemoveResult"]

REFINE_CHOICES = {"default": None, "on": True, "off": False}


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
    """The model asked for (``None``: the core's default)."""
    downloaded: bool = False
    """Whether the model was downloaded for this run."""
    edge_uncertainty: list[float] = field(default_factory=list)
    """Per frame: share of the outline where the method was unsure (``Matte``'s)."""


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

        self._image = LayerPicker(viewer, (Image,), name="image", label="image")
        self._method = ComboBox(
            name="method",
            label="method",
            choices=[(spec.label, name) for name, spec in METHODS.items()],
            value="auto",
            tooltip="\n".join(f"{spec.label}: {spec.help}" for spec in METHODS.values()),
        )
        # neural
        self._model = ModelPicker(name="model", label="model")
        self._device = ComboBox(name="device", label="device", choices=["auto", "cpu", "cuda"])
        # chroma
        self._key_color = LineEdit(
            name="key_color",
            label="key colour",
            value="auto",
            tooltip="'auto' (estimated from the border), a colour name or #rrggbb",
        )
        self._tolerance = FloatSpinBox(
            name="tolerance",
            label="tolerance (0 = auto)",
            value=0.0,
            min=0.0,
            max=2.0,
            step=0.01,
        )
        self._softness = FloatSpinBox(
            name="softness", label="softness", value=0.6, min=0.01, max=3.0, step=0.05
        )
        self._despill = CheckBox(name="despill", label="despill", value=True)
        # GrabCut
        self._rect = LayerPicker(
            viewer,
            (Shapes,),
            name="rect",
            label="rectangle",
            optional=True,
            tooltip="a Shapes layer whose rectangle (selected, else last) boxes the subject",
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
        self._new_hints = PushButton(name="new_hints", text="New hints layer")
        # refinement
        self._refine = ComboBox(
            name="refine",
            label="refine edges",
            choices=list(REFINE_CHOICES),
            value="default",
            tooltip="default: on for neural and GrabCut, off for chroma",
        )
        self._band = SpinBox(name="band", label="band px (0 = auto)", value=0, min=0, max=1000)
        self._feather = FloatSpinBox(
            name="feather", label="feather σ px", value=1.0, min=0.0, max=20.0, step=0.5
        )
        self._matting = CheckBox(name="matting", label="alpha matting", value=True)
        self._decontaminate = CheckBox(name="decontaminate", label="decontaminate", value=True)
        self.controls = RunControls(self._run, self.cancel)

        super().__init__(
            widgets=[
                self._image, self._method,
                self._model, self._device,
                self._key_color, self._tolerance, self._softness, self._despill,
                self._rect, self._hints, self._new_hints,
                self._refine, self._band, self._feather, self._matting, self._decontaminate,
                self.controls,
            ]
        )  # fmt: skip
        self._method.changed.connect(self._update_visibility)
        self._refine.changed.connect(self._update_visibility)
        self._new_hints.changed.connect(self._add_hints_layer)
        self._update_visibility()
        self._watch_close()

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
            self._band: refine is True,
            self._feather: refine is True,
            self._matting: refine is True,
            self._decontaminate: refine is True,
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
        if refine:
            options.update(
                band=self._band.value or None,
                feather_sigma=self._feather.value,
                matting=self._matting.value,
                decontaminate=self._decontaminate.value,
            )
        return options

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
        self._job = Job(
            _remove_frames(source, options),
            total=frames,
            title=f"Remove Background ({source.name})",
            on_done=self._show,
            on_finish=self._finished,
            status=self._set_status,
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
        name = result.source.name
        # The alpha stays visible under the cut-out: it hides the photo, so the cut-out is
        # seen against its own matte (black where the background was), not over the photo
        # it came from, where it would look like nothing happened.
        show_layer(
            self._viewer, f"{name} alpha", Image, result.alpha, like=result.source,
            colormap="gray", contrast_limits=(0.0, 1.0),
        )  # fmt: skip
        show_layer(
            self._viewer, f"{name} mask", Labels, result.mask, like=result.source,
            opacity=0.5, visible=False,
        )  # fmt: skip
        show_layer(
            self._viewer, f"{name} cut-out", Image, result.rgba, like=result.source, rgb=True
        )
        self.controls.status.value = _status(result)
        self.last_result = result


def _status(result: RemoveResult) -> str:
    """What ran, why (the core's notes), and how to get a general model if there is none."""
    used = ", ".join(f"{m} ×{n}" if n > 1 else m for m, n in Counter(result.methods).items())
    model = ""
    if result.model is not None and {"neural", "grabcut"} & set(result.methods):
        fetched = ", downloaded" if result.downloaded else ""
        model = f" (model {result.model}{fetched})"
    refined = " + refinement" if result.refined else ""
    lines = [f"{used}{model}{refined}: {result.seconds:.2f} s", *result.notes]
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
            if matte.edge_uncertainty is not None:
                uncertainty.append(matte.edge_uncertainty)
            notes.extend(note for note in matte.notes if note not in notes)
            yield count
        seconds = time.perf_counter() - start
        refined = "refine" in steps
        return RemoveResult(
            source, alpha, mask, rgba, methods, seconds, notes, refined,
            model=options.get("model"), downloaded=downloaded, edge_uncertainty=uncertainty,
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
