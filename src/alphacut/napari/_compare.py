"""The "Compare Methods" widget: every method on one frame, side by side, with agreement."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, Table
from napari.layers import Image, Labels, Shapes
from psygnal import Signal
from qtpy.QtWidgets import QHeaderView, QStyledItemDelegate

from alphacut.api import remove_background
from alphacut.methods.chroma import estimate_key_color
from alphacut.methods.registry import METHODS
from alphacut.metrics import Agreement, agreement_table, as_truth_alpha, disagreement
from alphacut.napari._controls import (
    LayerPicker,
    RunControls,
    keep_title_readable,
    wrap_tooltips,
)
from alphacut.napari._jobs import Cancelled, Job, JobOwner, describe
from alphacut.napari._layers import (
    STALE_SUFFIX,
    ImageSource,
    current_frame,
    find_layer,
    find_result,
    hints_for_frame,
    hints_from_labels,
    rect_from_shapes,
    show_layer,
)

if TYPE_CHECKING:
    import napari

__all__ = ["CompareMethodsWidget", "CompareResult", "Variant", "cutout_name", "disagreement_name"]

log = logging.getLogger(__name__)


def compared_methods() -> tuple[str, ...]:
    """The methods Compare Methods runs: those the method table marks for comparison."""
    return tuple(name for name, spec in METHODS.items() if spec.compare)


REFINEMENT = {"unrefined": (False,), "refined": (True,), "both": (False, True)}
NO_SCREEN = "no plain backdrop colour along the border to key out"
TABLE_COLUMNS = ("IoU", "mean |Δα|")
TRUTH = "truth"


def cutout_name(subject: str, variant: Variant) -> str:
    """The layer of ``variant``'s cut-out of the photo ``subject``.

    The variant comes first: napari's layer list elides long names in the middle, and with
    the photo's name first three cut-outs read "green screen …fined cut-out" alike. Short,
    so that the grid's cell labels fit their cells too.

    Parameters
    ----------
    subject : str
        The photo's layer name.
    variant : Variant

    Returns
    -------
    str
        E.g. ``"neural refined · green screen"``.
    """
    return f"{variant.label} · {subject}"


def disagreement_name(subject: str) -> str:
    """The layer of the variants' disagreement on the photo ``subject``."""
    return f"disagreement · {subject}"


@dataclass(frozen=True)
class Variant:
    """One way of cutting out: a method, with or without edge refinement."""

    method: str
    refine: bool

    @property
    def label(self) -> str:
        # The method's short name: layer names must stay short enough to tell apart.
        return self.method + (" refined" if self.refine else "")


@dataclass
class CompareResult:
    """Mattes of every variant on one frame, and how they agree."""

    source: ImageSource
    frame: tuple[int, ...]
    variants: list[Variant] = field(default_factory=list)
    alphas: dict[str, np.ndarray] = field(default_factory=dict)
    cutouts: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    """Variants not run, and why (a chroma key without a screen to key)."""
    rows: list[Agreement] = field(default_factory=list)
    disagreement: np.ndarray | None = None


class CompareMethodsWidget(JobOwner, Container):
    """Run chroma, GrabCut and neural (refined and unrefined) on the same frame.

    Each variant's cut-out goes to ``<variant> · <name>`` (``neural refined · photo``) and
    their per-pixel spread (max − min alpha) to ``disagreement · <name>``; the viewer switches
    to grid mode so they sit side by side, the photo first. The table lists IoU of the
    masks and mean |Δα| for every pair, and against a ground truth (Labels: non-zero is
    subject; Image: alpha) when one is chosen. A variant that fails is reported and left
    out; a keying method on a photo without a screen is skipped with a note. A new
    comparison of the same photo replaces the previous one's layers; one that shows
    nothing leaves grid mode off.
    """

    done = Signal(object)
    """Emitted on the GUI thread after a run: the :class:`CompareResult`, or ``None``."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        self._viewer = viewer
        self._job: Job | None = None
        self.last_result: CompareResult | None = None
        self._grid_on = False
        """Whether this widget turned grid mode on (and so may turn it off)."""

        self._image = LayerPicker(
            viewer, (Image,), name="image", label="image",
            tooltip="the photo to compare the methods on (of a stack, the frame on show)",
        )  # fmt: skip
        self._compared = compared_methods()
        self._use = {
            method: CheckBox(
                name=f"use_{method}",
                text=METHODS[method].label,
                value=True,
                tooltip=METHODS[method].help,
            )
            for method in self._compared
        }
        methods = Container(widgets=list(self._use.values()), layout="horizontal", labels=False)
        methods.margins = (0, 0, 0, 0)
        methods.label = "methods"
        self._refinement = ComboBox(
            name="refinement",
            label="edges",
            choices=list(REFINEMENT),
            value="both",
            tooltip="each method as it comes (unrefined), with its edge refined (matting "
            "and colour cleaning), or both side by side",
        )
        self._rect = LayerPicker(
            viewer, (Shapes,), name="rect", label="rectangle", optional=True,
            tooltip="GrabCut's box around the subject (selected rectangle, else last)",
        )  # fmt: skip
        self._hints = LayerPicker(
            viewer, (Labels,), name="hints", label="hints", optional=True,
            tooltip="painted 1 = foreground, 2 = background: for GrabCut and refinement",
        )  # fmt: skip
        self._truth = LayerPicker(
            viewer, (Labels, Image), name="truth", label="ground truth", optional=True,
            tooltip="a Labels layer (non-zero = subject) or an alpha Image (0..1 or 0..255)",
        )  # fmt: skip
        self.controls = RunControls(self._run, self.cancel)
        self.table = Table(
            value={"data": [], "index": [], "columns": list(TABLE_COLUMNS)}, name="table"
        )
        self.table.read_only = True
        self.table.tooltip = (
            "IoU of the masks (alpha ≥ 0.5) and mean |Δα| of each pair; against the ground "
            "truth, mean |Δα| is the MAE"
        )
        self.table.native.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        # Wide enough for "chroma refined vs GrabCut refined" and both columns.
        self.table.min_width = 400
        # Plain text: magicgui's number formatting turns 0.0057 into 5.700e-03.
        self.table.native.setItemDelegate(QStyledItemDelegate(self.table.native))
        self.table.min_height = 180
        form = Container(
            widgets=[
                self._image, methods, self._refinement, self._rect, self._hints, self._truth,
            ]
        )  # fmt: skip
        form.margins = (0, 0, 0, 0)
        super().__init__(widgets=[form, self.controls, self.table], labels=False)
        viewer.layers.events.removed.connect(self._on_layer_removed)
        self._watch_close()
        keep_title_readable(self)
        wrap_tooltips(self)

    def _on_destroyed(self, *_: Any) -> None:
        super()._on_destroyed()
        self._viewer.layers.events.removed.disconnect(self._on_layer_removed)

    def _on_layer_removed(self, *_: Any) -> None:
        # Grid mode that this widget turned on goes with the last layer: the user cleared
        # the viewer, and napari's grid on an empty layer list is a state worth not being
        # in (an issue report of a crash inside vispy on software OpenGL passed through it).
        if self._grid_on and not len(self._viewer.layers):
            self._set_grid(False)

    def _set_grid(self, enabled: bool) -> None:
        self._grid_on = enabled
        grid = self._viewer.canvas.grid
        if grid.enabled != enabled:
            grid.enabled = enabled
            if len(self._viewer.layers):
                # napari 0.9 fills the grid from the bottom of the layer list: the photo
                # first, then the variants in the order they were added.
                self._viewer.reset_view()

    def _result_names(self, subject: str) -> list[str]:
        every = [Variant(method, refine) for method in self._compared for refine in (False, True)]
        return [cutout_name(subject, v) for v in every] + [disagreement_name(subject)]

    def variants(self) -> list[Variant]:
        """The variants the current settings ask for, in display order."""
        return [
            Variant(method, refine)
            for method in self._compared
            if self._use[method].value
            for refine in REFINEMENT[self._refinement.value]
        ]

    def _run(self, *_: Any) -> None:
        if self._job is not None:
            return
        layer = self._image.value
        variants = self.variants()
        try:
            if layer is None or not variants:
                raise ValueError("choose an image layer and at least one method")
            source = ImageSource.from_layer(layer)
            frame = current_frame(self._viewer, source, layer)
            options: dict[str, Any] = {}
            if self._rect.value is not None:
                options["rect"] = rect_from_shapes(self._rect.value, source)
            if self._hints.value is not None:
                hints = hints_from_labels(self._hints.value, source, with_rect="rect" in options)
                options["hints"] = hints_for_frame(hints, frame)
            truth = None
            if self._truth.value is not None:
                truth = self._truth_frame(self._truth.value, source, frame)
        except Exception as error:
            self._refuse("Compare Methods", error, None if layer is None else layer.name)
            return
        self._subject = source.name
        self._job = Job(
            _compare(source, frame, variants, options, truth),
            total=len(variants),
            title=f"Compare Methods ({source.name})",
            on_done=self._show,
            on_finish=self._finished,
            on_progress=self.controls.show_progress,
        )
        self.controls.set_running(True)
        self.controls.status.value = "running…"
        self._job.start()

    @staticmethod
    def _truth_frame(
        layer: Image | Labels, source: ImageSource, frame: tuple[int, ...]
    ) -> np.ndarray:
        """The ground truth's alpha for ``frame`` of ``source``."""
        data = layer.data
        colour = isinstance(layer, Image) and layer.rgb
        shape = data.shape[:-1] if colour else data.shape
        if tuple(shape[-2:]) != source.frame_shape:
            raise ValueError(
                f"ground truth {layer.name!r} is {shape[-2:]}, the photo {source.frame_shape}"
            )
        if len(shape) > 2:
            # A truth per frame follows the photo's frame; otherwise its first frame is it.
            per_frame = tuple(shape[:-2]) == source.stack_shape
            data = data[frame] if per_frame else data[(0,) * (len(shape) - 2)]
        return as_truth_alpha(np.asarray(data), labels=isinstance(layer, Labels))

    def _show(self, result: CompareResult) -> None:
        from napari.utils.notifications import show_warning

        viewer = self._viewer
        name = result.source.name
        placement = replace(
            result.source, scale=result.source.scale[-2:], translate=result.source.translate[-2:]
        )
        # This comparison replaces the previous one of the photo: a variant that failed or
        # was not asked for this time must not sit in the grid as if it were part of it.
        # Removed before the new layers come: napari finishes all pending OpenGL work when
        # a layer goes (gc and glFinish outside a paint), better done before new textures
        # are queued than between their upload and first draw.
        fresh = {cutout_name(name, v) for v in result.variants if v.label in result.cutouts}
        if result.disagreement is not None:
            fresh.add(disagreement_name(name))
        for layer_name in self._result_names(name):
            old = find_result(viewer, layer_name)
            if old is not None and layer_name not in fresh:
                viewer.layers.remove(old)
        shown = []
        for variant in result.variants:
            if variant.label in result.cutouts:
                layer = show_layer(
                    viewer, cutout_name(name, variant), Image,
                    result.cutouts[variant.label], like=placement, rgb=True,
                )  # fmt: skip
                shown.append(layer)
        if result.disagreement is not None:
            layer = show_layer(
                viewer, disagreement_name(name), Image, result.disagreement, like=placement,
                colormap="inferno", contrast_limits=(0.0, 1.0),
            )  # fmt: skip
            shown.append(layer)
        photo = find_layer(viewer, name)
        if shown:
            for layer in [photo, *shown]:
                _label_cell(layer, True)
            if not viewer.canvas.grid.enabled:
                self._set_grid(True)
        else:
            # Nothing to set side by side: a grid of the photo alone would only shrink it.
            _label_cell(photo, False)
            if self._grid_on and not self._any_comparison():
                self._set_grid(False)
        self.table.value = {
            # Text, so every value reads with the same four decimals (``last_result.rows``
            # holds the numbers).
            "data": [[f"{row.iou:.4f}", f"{row.mean_abs_diff:.4f}"] for row in result.rows],
            "index": [f"{row.first} vs {row.second}" for row in result.rows],
            "columns": list(TABLE_COLUMNS),
        }
        # One notification per reason, not per variant: a photo too small for all of them
        # would otherwise raise six notifications saying the same.
        reasons: dict[str, list[str]] = {}
        for label, message in result.failures.items():
            reasons.setdefault(message, []).append(label)
        timings = [f"{label} {seconds:.2f} s" for label, seconds in result.seconds.items()]
        if not result.seconds and not result.failures:
            # Only skipped ones (chroma alone on a photo without a screen): no warning, it
            # is no fault; the status line says why nothing came.
            self.controls.status.value = "\n".join(_skip_notes(result.skipped))
        elif not result.seconds and len(reasons) == 1:
            (message,) = reasons
            self.controls.status.value = "\n".join(
                [f"every method failed: {message}", *_skip_notes(result.skipped)]
            )
            show_warning(f"Compare Methods: every method failed: {message}")
        else:
            failed = [f"{label} failed" for label in result.failures]
            self.controls.status.value = "\n".join(
                [", ".join(timings + failed), *_skip_notes(result.skipped)]
            ).strip()
            for message, (first, *others) in reasons.items():
                also = f" (also {', '.join(others)})" if others else ""
                show_warning(f"Compare Methods: {first} failed: {message}{also}")
        self.last_result = result

    def _any_comparison(self) -> bool:
        """Whether the layers of a comparison of any photo are in the viewer."""
        names = {layer.name for layer in self._viewer.layers}
        return any(
            name in names or name + STALE_SUFFIX in names
            for layer in self._viewer.layers
            for name in self._result_names(layer.name)
        )


def _skip_notes(skipped: dict[str, str]) -> list[str]:
    """One line per reason: ``"chroma, chroma refined skipped: no plain backdrop ..."``."""
    reasons: dict[str, list[str]] = {}
    for label, reason in skipped.items():
        reasons.setdefault(reason, []).append(label)
    return [f"{', '.join(labels)} skipped: {reason}" for reason, labels in reasons.items()]


def _label_cell(layer: Any, visible: bool) -> None:
    # Each grid cell shows its layer's name, so the cut-outs can be told apart (napari ≥ 0.6).
    overlay = getattr(layer, "name_overlay", None)
    if overlay is not None:
        overlay.font_size = 8
        overlay.visible = visible


def _no_screen(image: np.ndarray, variants: list[Variant], report: Callable[[str], None]) -> bool:
    """Whether ``image`` has no key colour along its border, for variants that key one.

    Compare Methods passes no key colour, so a keying method estimates it, as ``auto``
    does; where there is none it could only fail. Looked for once, not per variant.
    """
    if not any("key_color" in METHODS[v.method].options for v in variants):
        return False
    report("detect")
    # What chroma itself accepts when asked to key (see chroma's _resolve_key).
    return estimate_key_color(image, min_coverage=0.5, any_colour=True) is None


def _compare(
    source: ImageSource,
    frame: tuple[int, ...],
    variants: list[Variant],
    options: dict[str, Any],
    truth: np.ndarray | None,
) -> Callable[[Callable[[str], None]], Generator[str, None, CompareResult]]:
    """The worker's generator: each variant through ``remove_background``, then metrics."""

    def work(report: Callable[[str], None]) -> Generator[str, None, CompareResult]:
        image = source.frame(frame)
        result = CompareResult(source, frame, variants=list(variants))
        no_screen = _no_screen(image, variants, report)
        for variant in variants:
            if no_screen and "key_color" in METHODS[variant.method].options:
                # A method that keys a colour has nothing to key: a note, not a failure
                # (two warnings on every ordinary photo said nothing the user could act on).
                result.skipped[variant.label] = NO_SCREEN
                yield variant.label
                continue
            report(variant.label)
            start = time.perf_counter()
            try:
                matte = remove_background(
                    image, variant.method, refine=variant.refine, progress=report, **options
                )
            except Cancelled:
                raise
            except Exception as error:  # one method failing must not lose the others
                log.warning("Compare Methods: %s failed", variant.label, exc_info=True)
                result.failures[variant.label] = describe(error)
            else:
                result.seconds[variant.label] = time.perf_counter() - start
                result.alphas[variant.label] = matte.alpha
                result.cutouts[variant.label] = matte.rgba()
            yield variant.label
        if result.alphas:
            result.rows = agreement_table(result.alphas, truth, truth_name=TRUTH)
            result.disagreement = disagreement(result.alphas)
        return result

    return work
