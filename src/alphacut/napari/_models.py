"""The model picker: installed models first, then downloadable ones; downloads in the worker.

Labels read ``isnet-imgly · 88 MB · AGPL-3.0 · installed`` (or ``· download``), so the cost
and the licence of a choice are seen before it is made; each item's tooltip is the model's
description. The first entry, "default", passes no model at all, so the core decides
(today's behaviour, including whatever ``auto`` falls back to).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from magicgui.widgets import ComboBox
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox

from alphacut.models import DEFAULT_MODEL, MODEL_SPECS, ModelSpec, download, get_spec
from alphacut.napari._controls import wrap_tooltip
from alphacut.napari._jobs import Reporter

__all__ = [
    "DEFAULT_CHOICE",
    "ModelEntry",
    "ModelPicker",
    "ensure_model",
    "general_model_hint",
    "is_installed",
    "model_entries",
]

DEFAULT_CHOICE = "default"
# The general model that installing is suggested for: the best one obtainable offline.
SUGGESTED_GENERAL_MODEL = "isnet-imgly"


@dataclass(frozen=True)
class ModelEntry:
    """One line of the model picker."""

    value: str
    """A model name, or :data:`DEFAULT_CHOICE`."""
    label: str
    description: str
    installed: bool


def is_installed(spec: ModelSpec) -> bool:
    """Whether running ``spec`` needs no download (built in, or in the cache)."""
    return download.is_installed(spec)


def _size(spec: ModelSpec) -> int | None:
    if spec.embedded and spec.embedded_path.is_file():
        return spec.embedded_path.stat().st_size
    return spec.size_bytes


def model_label(spec: ModelSpec, installed: bool | None = None) -> str:
    """``"u2net · 176 MB · Apache-2.0 · download"``."""
    if installed is None:
        installed = is_installed(spec)
    state = "built in" if spec.embedded else "installed" if installed else "download"
    licence = spec.licence or "licence unknown"
    return f"{spec.name} · {download.format_size(_size(spec))} · {licence} · {state}"


def model_entries() -> list[ModelEntry]:
    """ "default", then installed models, then downloadable ones, each in table order."""
    specs = list(MODEL_SPECS.values())
    installed = {spec.name: is_installed(spec) for spec in specs}
    entries = [
        ModelEntry(
            DEFAULT_CHOICE,
            f"default ({DEFAULT_MODEL}, or as alphacut decides)",
            "pass no model: alphacut's own choice (today the built-in person model "
            f"{DEFAULT_MODEL!r}; auto falls back as the core decides)",
            True,
        )
    ]
    for wanted in (True, False):
        entries += [
            ModelEntry(spec.name, model_label(spec, wanted), spec.description, wanted)
            for spec in specs
            if installed[spec.name] == wanted
        ]
    return entries


class ModelPicker(ComboBox):
    """A drop-down of :func:`model_entries`, re-read whenever choices are reset (napari
    does on layer changes; the widget does after a download), so "installed" stays true."""

    def __init__(self, *, name: str = "model", label: str = "model") -> None:
        super().__init__(
            name=name,
            label=label,
            choices=self._choices,
            value=DEFAULT_CHOICE,
            tooltip="models marked 'download' are downloaded (with progress) when you run",
        )
        # The longest label (a licence with a remark) would otherwise widen the whole dock
        # and squeeze the canvas: the closed box elides, the open list shows labels whole.
        self.native.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.native.setMinimumContentsLength(24)
        self._describe()
        self.changed.connect(self._describe)

    @staticmethod
    def _choices(_widget: Any = None) -> list[tuple[str, str]]:
        return [(entry.label, entry.value) for entry in model_entries()]

    def reset_choices(self, *_: Any) -> None:
        value = self.value
        with self.changed.blocked():
            # magicgui keeps an item where it was when its label changes; a model that
            # became installed must move up to the installed ones, so rebuild the list.
            self.native.clear()
            super().reset_choices()
            if value in self.choices:
                self.value = value
        self._describe()

    def entry(self) -> ModelEntry:
        """The entry of the current choice."""
        return next(e for e in model_entries() if e.value == self.value)

    def _describe(self, *_: Any) -> None:
        # Per-item tooltips: magicgui has none, Qt keeps them in the item data.
        descriptions = {entry.value: entry.description for entry in model_entries()}
        combo = self.native
        for index in range(combo.count()):
            value = combo.itemData(index)
            if value in descriptions:
                combo.setItemData(index, descriptions[value], Qt.ItemDataRole.ToolTipRole)
        if self.value in descriptions:
            self.tooltip = wrap_tooltip(descriptions[self.value])
        view = combo.view()
        view.setTextElideMode(Qt.TextElideMode.ElideNone)
        view.setMinimumWidth(view.sizeHintForColumn(0) + 24)


def ensure_model(name: str, report: Reporter) -> bool:
    """Download model ``name`` unless installed (in the worker); whether it downloaded.

    The bytes go to the job's download bar and its Cancel stops the download (a
    ``DownloadCancelled`` then ends the job as cancelled). Offline, the
    ``ModelDownloadError``'s one line (naming the model and how to install it by hand) is
    the job's failure message.
    """
    spec = get_spec(name)
    if is_installed(spec):
        return False
    report(f"downloading {name}")
    progress = report.download(name)
    # The bar at once, not at fetch's first report (it reports every half megabyte).
    progress(download.partial_bytes(spec), spec.size_bytes)
    download.fetch(spec, progress=progress, cancel=report.cancel)
    return True


def general_model_hint() -> str:
    """How to install a general model, or "" when one is installed already."""
    if any(spec.subject != "person" and is_installed(spec) for spec in MODEL_SPECS.values()):
        return ""
    spec = MODEL_SPECS.get(SUGGESTED_GENERAL_MODEL)
    if spec is None:
        return ""
    return (
        "the built-in model knows people only; for other subjects install a general model: "
        f"pick {spec.name} above (downloads {download.format_size(spec.size_bytes)}) or run "
        f"`alphacut models download {spec.name}`"
    )
