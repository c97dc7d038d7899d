"""magicgui controls shared by the widgets: layer pickers, hints, the run/cancel row."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, ProgressBar, PushButton, Widget
from napari.layers import Image, Labels, Layer
from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QDockWidget, QSizePolicy, QWidget

from alphacut.napari._layers import HINT_COLORS, ImageSource, find_layer

__all__ = [
    "LayerPicker",
    "RunControls",
    "keep_title_readable",
    "new_hints_layer",
    "wrap_tooltip",
    "wrap_tooltips",
]

# Characters per line of a tooltip: Qt shows a plain-text tooltip as one line however
# long, which for a sentence runs across the layer list and off the screen.
TOOLTIP_WIDTH = 64

# The bar's range: fine enough that a step of one of six variants still moves it.
PROGRESS_STEPS = 1000


class LayerPicker(ComboBox):
    """A drop-down of the viewer's layers of some kinds, optionally with "none".

    The choices are read from the viewer each time napari asks the dock widget to reset
    them (on every layer insertion, removal, rename and reorder).
    """

    def __init__(
        self,
        viewer: Any,
        kinds: tuple[type[Layer], ...],
        *,
        name: str,
        label: str,
        optional: bool = False,
        tooltip: str | None = None,
    ) -> None:
        self._viewer = viewer
        self._kinds = kinds
        super().__init__(
            name=name, label=label, nullable=optional, tooltip=tooltip, choices=self._layers
        )
        if optional:
            self.null_string = "none"
            self.reset_choices()

    def _layers(self, _widget: Any = None) -> list[tuple[str, Layer]]:
        return [
            (layer.name, layer) for layer in self._viewer.layers if isinstance(layer, self._kinds)
        ]


class RunControls(Container):
    """Run and Cancel buttons, a progress bar while a job runs, and a status line.

    The bar sits in the widget itself: napari's own bars live in the activity panel, which
    is collapsed by default, so a user would otherwise see only "running…" for as long as
    a 12 MP photo or a stack takes. It is a plain determinate QProgressBar, repainted
    only when a step or frame moves it (unlike napari's busy indicator, whose animation
    recomposes the whole window on software OpenGL; see ``_jobs.PROGRESS_DELAY_MS``).
    """

    def __init__(self, run: Callable[[], None], cancel: Callable[[], None]) -> None:
        self.run_button = PushButton(
            text="Run", name="run", tooltip="run with these settings; results go to new layers"
        )
        self.cancel_button = PushButton(
            text="Cancel",
            name="cancel",
            enabled=False,
            tooltip="stop the run at the next step (GrabCut and downloads within a second); "
            "the layers of the previous run stay",
        )
        self.run_button.changed.connect(run)
        self.cancel_button.changed.connect(cancel)
        buttons = Container(
            widgets=[self.run_button, self.cancel_button], layout="horizontal", labels=False
        )
        buttons.margins = (0, 0, 0, 0)
        self.progress = ProgressBar(
            value=0,
            min=0,
            max=PROGRESS_STEPS,
            name="progress",
            tooltip="the step running now; the bar fills as steps and frames finish",
        )
        self.progress.visible = False
        self.status = Label(value="", name="status")
        self.status.tooltip = "what ran, how long it took, and why (the method's notes)"
        # Long messages (timings of six variants) wrap instead of widening the dock; a
        # wrapping label must be told to take the full width, or Qt wraps it early.
        self.status.native.setWordWrap(True)
        self.status.native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        super().__init__(widgets=[buttons, self.progress, self.status], labels=False)
        self.margins = (0, 0, 0, 0)

    def set_running(self, running: bool) -> None:
        """Enable Cancel (and not Run) while a job runs; show the progress bar meanwhile."""
        self.run_button.enabled = not running
        self.cancel_button.enabled = running
        if running:
            self.show_progress(0.0, "starting…")
        self.progress.visible = running

    def show_progress(self, fraction: float, text: str) -> None:
        """Fill the bar to ``fraction`` (0..1) and write ``text`` on it.

        Parameters
        ----------
        fraction : float
            Share of the work done; clipped to 0..1.
        text : str
            The step running now, e.g. ``"neural (2 of 3)"``.
        """
        self.progress.value = round(min(max(fraction, 0.0), 1.0) * PROGRESS_STEPS)
        # Qt substitutes %p etc. in the format: a literal percent sign must be doubled.
        self.progress.native.setFormat(text.replace("%", "%%"))


class _TitleWidth(QObject):
    """Keeps a widget at least as wide as the title bar of the dock it is shown in."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget):
            fit_title(watched)
        return False


def fit_title(widget: QWidget) -> None:
    """Make ``widget`` at least as wide as its dock's title bar needs.

    napari's dock title bar (buttons, a rule, then the title) reports a minimum width of
    a few pixels, so a dock can be dragged or laid out narrower than its title, which is
    then cut ("Remove Background (alp"). The widget's minimum width is what limits the
    dock, so it takes the title bar's real need: its layout's minimum width and frame.
    """
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    bar = parent.titleBarWidget() if parent is not None else None
    layout = bar.layout() if bar is not None else None
    if layout is None:
        return
    # Plus the bar's own frame (its stylesheet's padding), which its layout sits inside.
    needed = layout.minimumSize().width() + bar.width() - bar.contentsRect().width()
    if needed > widget.minimumWidth():
        widget.setMinimumWidth(needed)


def keep_title_readable(widget: Widget) -> None:
    """Keep the title of the dock that ``widget`` is shown in readable in full.

    The dock does not exist yet when a widget is built (napari makes it around the
    widget), so the width is fitted each time the widget is shown (docked, re-docked after
    floating).

    Parameters
    ----------
    widget : magicgui.widgets.Widget
        The widget napari docks.
    """
    watcher = _TitleWidth(widget.native)  # parented: lives and dies with the widget
    widget.native.installEventFilter(watcher)


def wrap_tooltip(text: str) -> str:
    """``text`` broken into lines of at most :data:`TOOLTIP_WIDTH` characters.

    Parameters
    ----------
    text : str
        A tooltip; its own line breaks are kept.

    Returns
    -------
    str
    """
    return "\n".join(
        textwrap.fill(line, TOOLTIP_WIDTH, break_long_words=False) if line else line
        for line in text.split("\n")
    )


def wrap_tooltips(widget: Widget) -> None:
    """Wrap the tooltip of ``widget`` and of every Qt widget inside it (labels included).

    Parameters
    ----------
    widget : magicgui.widgets.Widget
        A built widget: magicgui copies each control's tooltip to its label when the
        container is made, so this runs after.
    """
    for native in [widget.native, *widget.native.findChildren(QWidget)]:
        text = native.toolTip()
        if len(text) > TOOLTIP_WIDTH:
            native.setToolTip(wrap_tooltip(text))


def new_hints_layer(viewer: Any, image_layer: Image) -> Labels:
    """Add (or return) ``<image> hints``: an empty Labels layer to paint hints on.

    It has the photo's frame size and placement and the hint colours (1 foreground in
    green, 2 background in magenta), and is left selected in paint mode on label 1.
    """
    source = ImageSource.from_layer(image_layer)
    name = f"{source.name} hints"
    layer = find_layer(viewer, name)
    if not isinstance(layer, Labels):
        height, width = source.frame_shape
        layer = viewer.add_labels(
            np.zeros((height, width), np.uint8),
            name=name,
            colormap=HINT_COLORS,
            opacity=0.6,
            scale=source.scale[-2:],
            translate=source.translate[-2:],
        )
        layer.brush_size = max(5, round(min(height, width) / 60))
    layer.selected_label = 1
    layer.mode = "paint"
    viewer.layers.selection.active = layer
    return layer
