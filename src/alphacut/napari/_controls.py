"""magicgui controls shared by the widgets: layer pickers, hints, the run/cancel row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.layers import Image, Labels, Layer
from qtpy.QtWidgets import QSizePolicy

from alphacut.napari._layers import HINT_COLORS, ImageSource, find_layer

__all__ = ["LayerPicker", "RunControls", "new_hints_layer"]


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
    """Run and Cancel buttons over a status line."""

    def __init__(self, run: Callable[[], None], cancel: Callable[[], None]) -> None:
        self.run_button = PushButton(text="Run", name="run")
        self.cancel_button = PushButton(text="Cancel", name="cancel", enabled=False)
        self.run_button.changed.connect(run)
        self.cancel_button.changed.connect(cancel)
        buttons = Container(
            widgets=[self.run_button, self.cancel_button], layout="horizontal", labels=False
        )
        buttons.margins = (0, 0, 0, 0)
        self.status = Label(value="", name="status")
        # Long messages (timings of six variants) wrap instead of widening the dock; a
        # wrapping label must be told to take the full width, or Qt wraps it early.
        self.status.native.setWordWrap(True)
        self.status.native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        super().__init__(widgets=[buttons, self.status], labels=False)
        self.margins = (0, 0, 0, 0)

    def set_running(self, running: bool) -> None:
        self.run_button.enabled = not running
        self.cancel_button.enabled = running


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
