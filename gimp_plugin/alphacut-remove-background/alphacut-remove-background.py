#!/usr/bin/env python3
"""GIMP 3 plug-in: Layer > Transparency > Remove Background…

Computes the subject's alpha with alphacut and adds it to the layer as a layer mask, so the
result can still be painted on. All image processing happens in ``alphacut``; this file only
moves pixels between GIMP and ``alphacut.remove_background``.

Install with ``alphacut gimp install`` (copies this folder into GIMP's plug-ins folder and
records where alphacut is installed, see ``alphacut-location.json``).
"""

from __future__ import annotations

import json
import os
import site
import struct
import sys
import traceback
from collections.abc import Callable, Sequence

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio, GLib, GObject  # noqa: E402

PROC_NAME = "python-fu-alphacut-remove-background"
# The methods come from alphacut's table (alphacut.methods.registry.METHODS); when alphacut
# cannot be imported while GIMP registers the plug-in, only this one is offered, and
# running it reports the import error with the fix.
DEFAULT_METHOD = "auto"
# "default" passes no refine option: each method's own default from alphacut's table.
REFINE_DEFAULT, REFINE_ON, REFINE_OFF = "default", "on", "off"
# The feather radius the dialog starts at when alphacut cannot be imported to ask.
FALLBACK_FEATHER = 1.0
# "default" passes no model: the core's own choice (today's behaviour).
DEFAULT_MODEL_CHOICE = "default"
# The general model suggested when none is installed: the best one obtainable offline.
SUGGESTED_GENERAL_MODEL = "isnet-imgly"
# Download progress goes to GIMP at most this often (each update is a round trip to GIMP).
DOWNLOAD_UPDATE_S = 0.2
# Written by `alphacut gimp install` next to this file.
LOCATION_FILE = "alphacut-location.json"
GRABCUT_BACKGROUND, GRABCUT_PROBABLE_FOREGROUND = 0, 3
# Where the Key colour comes from: the core's estimate from the border (its default),
# GIMP's foreground colour, or the colour argument (picked in the dialog).
KEY_BORDER, KEY_FOREGROUND, KEY_PICKED = "border", "foreground", "picked"
# The dialog's tolerance 0 means the core's automatic one (as in napari); its softness
# starts at the core's default (alphacut.methods.chroma: 0.6), which is then not passed.
AUTO_TOLERANCE = 0.0
CORE_SOFTNESS = 0.6
# The key colour the dialog starts at: a typical green screen, in sRGB.
DEFAULT_PICKED_KEY = (0.0, 0.69, 0.25)
# The help pages (help/en/gimp-help.xml) next to the script: GIMP's Help button opens
# them instead of asking for GIMP's own manual, which has no page for this plug-in.
HELP_DOMAIN = "alphacut"
HELP_FOLDER = "help"


class PluginError(Exception):
    """A failure to report to the caller as a PDB error, with this readable message."""

    def __init__(self, message, status=Gimp.PDBStatusType.EXECUTION_ERROR):
        super().__init__(message)
        self.status = status


def calling_error(message):
    return PluginError(message, Gimp.PDBStatusType.CALLING_ERROR)


# --- finding alphacut -----------------------------------------------------------------------


def _read_location():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), LOCATION_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _fix_command():
    """A command that makes alphacut importable by the Python GIMP runs this plug-in with."""
    python = sys.executable or "python3"
    if os.name == "nt":
        venv = os.path.join("%LOCALAPPDATA%", "alphacut", "gimp-venv")
        bindir = os.path.join(venv, "Scripts")
    else:
        venv = "~/.local/share/alphacut/gimp-venv"
        bindir = venv + "/bin"
    # --system-site-packages: the venv must still see GIMP's `gi` bindings.
    return (
        f'"{python}" -m venv --system-site-packages {venv} && '
        f"{bindir}/pip install alphacut && {bindir}/alphacut gimp install"
    )


def import_alphacut():
    """Import alphacut and numpy, from GIMP's own Python or from where `alphacut gimp
    install` recorded them."""
    try:
        import numpy

        import alphacut

        return alphacut, numpy
    except ImportError as first_error:
        error = first_error
    location = _read_location()
    gimp_python = "{}.{}".format(*sys.version_info[:2])
    if location and location.get("python_version") == gimp_python:
        for path in location.get("paths", []):
            if os.path.isdir(path) and path not in sys.path:
                # addsitedir, not sys.path.insert: .pth files (editable installs) must run.
                before = list(sys.path)
                site.addsitedir(path)
                added = [p for p in sys.path if p not in before]
                sys.path[:] = added + before
        try:
            import numpy

            import alphacut

            return alphacut, numpy
        except ImportError as second_error:
            error = second_error
    detail = f"{type(error).__name__}: {error}"
    if location and location.get("python_version") != gimp_python:
        where = (
            f"alphacut is installed for Python {location.get('python_version')} "
            f"({location.get('python')}), but GIMP runs plug-ins with Python {gimp_python} "
            f"({sys.executable})."
        )
    elif location:
        where = f"alphacut was recorded at {', '.join(location.get('paths', []))} but failed."
    else:
        where = f"GIMP's Python {gimp_python} ({sys.executable}) cannot find alphacut."
    raise PluginError(
        f"Cannot import alphacut ({detail}). {where}\n"
        f"To fix it, run in a terminal, then restart GIMP:\n    {_fix_command()}"
    )


# --- methods and refinement, from alphacut's table ---------------------------------------------


def _alphacut_or_none():
    """alphacut, or None when it cannot be imported (GIMP's start-up query must not fail)."""
    try:
        return import_alphacut()[0]
    except Exception:  # noqa: BLE001 - any failure means the same: alphacut is not usable
        return None


def _sentence(text):
    return text[:1].upper() + text[1:]


def method_entries():
    """(name, label, help) of every method in alphacut's table, in its order (the default
    first); only Automatic, labelled as unusable, when alphacut cannot be imported."""
    if _alphacut_or_none() is not None:
        try:
            from alphacut.methods.registry import METHODS

            return [(spec.name, spec.label, _sentence(spec.help)) for spec in METHODS.values()]
        except Exception:  # noqa: BLE001 - an alphacut too old or broken: as if missing
            pass
    return [
        (
            DEFAULT_METHOD,
            "Automatic (alphacut not found: run to see how to install it)",
            "alphacut cannot be imported by GIMP's Python; running says why and how to fix it",
        )
    ]


def method_choice(entries):
    choice = Gimp.Choice.new()
    for index, (name, label, help_text) in enumerate(entries):
        choice.add(name, index, label, help_text)
    return choice


def method_labels(reads_option=None, refined=None):
    """Labels of the methods in alphacut's table that read method option ``reads_option``
    and/or whose alpha is (``refined=True``) or is not refined by default; None when
    alphacut cannot be imported."""
    if _alphacut_or_none() is None:
        return None
    try:
        from alphacut.methods.registry import METHODS
    except Exception:  # noqa: BLE001 - an alphacut too old or broken: as if missing
        return None
    return [
        spec.label
        for spec in METHODS.values()
        if (reads_option is None or reads_option in spec.options)
        and (refined is None or spec.refine == refined)
    ]


def method_table() -> dict[str, tuple[str, str, tuple[str, ...], bool]]:
    """{name: (label, help, options it reads, refined by default)} from alphacut's table;
    empty when alphacut cannot be imported (the dialog then shows every control)."""
    if _alphacut_or_none() is None:
        return {}
    try:
        from alphacut.methods.registry import METHODS
    except Exception:  # noqa: BLE001 - an alphacut too old or broken: as if missing
        return {}
    return {
        name: (spec.label, _sentence(spec.help), tuple(spec.options), spec.refine)
        for name, spec in METHODS.items()
    }


def methods_blurb(entries: Sequence[tuple[str, str, str]]) -> str:
    """The Method argument's tooltip: every method with when to use it."""
    lines = ["How to find the subject:"]
    lines += [f"{label}: {help_text}" for _, label, help_text in entries]
    return "\n".join(lines)


def reads_key(options: Sequence[str] | None) -> bool:
    """Whether the chroma options belong to a method reading ``options``: the methods
    that key a colour they are given. Automatic keys only a screen it recognises itself,
    so its dialog stays free of them (Chroma key is the method to steer)."""
    return options is None or "key_color" in options


def refine_default_text():
    """What Default means, e.g. "on, except for Chroma key" (read from alphacut's table)."""
    unrefined = method_labels(refined=False)
    if unrefined is None:
        return "each method's own"
    if not unrefined:
        return "on for every method"
    return "on, except for " + " and ".join(unrefined)


def refine_choice():
    choice = Gimp.Choice.new()
    choice.add(
        REFINE_DEFAULT,
        0,
        f"Default ({refine_default_text()})",
        "Each method's own default, as alphacut's command line and napari use it",
    )
    choice.add(REFINE_ON, 1, "On", "Refine the edge whatever the method, with the feather below")
    choice.add(REFINE_OFF, 2, "Off", "Keep the method's alpha as it is")
    return choice


def key_source_choice():
    choice = Gimp.Choice.new()
    choice.add(KEY_BORDER, 0, "Estimated from the border", "alphacut's estimate (its default)")
    choice.add(KEY_FOREGROUND, 1, "GIMP's foreground colour", "The toolbox's foreground colour")
    choice.add(KEY_PICKED, 2, "The colour chosen here", "The Chosen colour below")
    return choice


def core_feather(alphacut=None):
    """alphacut's default feather radius (``alphacut.refine.refine``'s ``feather_sigma``)."""
    import inspect

    if alphacut is None:
        alphacut = _alphacut_or_none()
        if alphacut is None:
            return FALLBACK_FEATHER
    from alphacut.refine import refine

    return inspect.signature(refine).parameters["feather_sigma"].default


def refine_options(alphacut, refine, feather):
    """``remove_background``'s refinement keywords for the dialog's Refine edges and Feather.

    Default passes nothing (each method's own default), unless the feather differs from
    alphacut's default: asking for a feather is asking for refinement, of chroma keying
    too (alphacut's rule). On passes the feather; Off passes neither.
    """
    if refine == REFINE_OFF:
        return {"refine": False}
    if refine == REFINE_ON:
        return {"refine": True, "feather_sigma": feather}
    if abs(feather - core_feather(alphacut)) > 1e-9:
        return {"feather_sigma": feather}
    return {}


# --- models -----------------------------------------------------------------------------------


def model_entries():
    """(id, name, label, help) of every model: installed ones first, then downloadable ones.

    Labels read "isnet-imgly · 88 MB · AGPL-3.0 · installed" (or "· download"). Ids are
    the models' places in alphacut's table, so they do not move when a model is installed.
    Empty when alphacut cannot be imported (the procedure then offers "default" only).
    """
    try:
        import_alphacut()
        from alphacut.models import MODEL_SPECS, download
    except Exception:  # noqa: BLE001 - GIMP's start-up query must never fail on this
        return []
    entries = []
    for index, spec in enumerate(MODEL_SPECS.values(), start=1):
        installed = download.is_installed(spec)
        size = spec.size_bytes
        if spec.embedded and spec.embedded_path.is_file():
            size = spec.embedded_path.stat().st_size
        state = "built in" if spec.embedded else "installed" if installed else "download"
        label = (
            f"{spec.name} · {download.format_size(size)} · {spec.licence or 'licence unknown'}"
            f" · {state}"
        )
        entries.append((not installed, index, spec.name, label, spec.description))
    entries.sort(key=lambda entry: entry[:2])
    return [entry[1:] for entry in entries]


def model_choice():
    choice = Gimp.Choice.new()
    choice.add(
        DEFAULT_MODEL_CHOICE,
        0,
        "Default (alphacut's choice)",
        "Pass no model: alphacut decides (today the built-in person model)",
    )
    for index, name, label, help_text in model_entries():
        choice.add(name, index, label, help_text)
    return choice


def one_line(error):
    # A PDB error message is shown in a dialog or printed by scripts: one line, no traceback.
    return " ".join(str(error).split()) or type(error).__name__


def ensure_model(name):
    """Download model ``name`` unless installed, with the byte count on GIMP's progress bar.

    Cancelling: GIMP's Cancel on the progress ends the plug-in, and the download with it;
    what was received is kept, so the next run resumes it.
    """
    import time

    from alphacut.models import download, get_spec

    spec = get_spec(name)
    if download.is_installed(spec):
        return False
    size = download.format_size
    last = [0.0]

    def progress(done, total):
        now = time.monotonic()
        if now - last[0] < DOWNLOAD_UPDATE_S and done != total:
            return
        last[0] = now
        of = f" of {size(total)}" if total else ""
        Gimp.progress_set_text(f"Downloading model {name}: {size(done)}{of}")
        if total:
            Gimp.progress_update(min(1.0, done / total))
        else:
            Gimp.progress_pulse()

    progress(download.partial_bytes(spec), spec.size_bytes)
    try:
        download.fetch(spec, progress=progress)
    except download.ModelDownloadError as error:
        raise PluginError(one_line(error)) from error
    Gimp.progress_update(0.0)
    return True


def general_model_hint():
    """How to get a general model, or "" when one is installed."""
    from alphacut.models import MODEL_SPECS, download

    specs = MODEL_SPECS.values()
    if any(spec.subject != "person" and download.is_installed(spec) for spec in specs):
        return ""
    spec = MODEL_SPECS.get(SUGGESTED_GENERAL_MODEL)
    if spec is None:
        return ""
    return (
        "The built-in model knows people only; for other subjects install a general model: "
        f"choose {spec.name} under Model (a {download.format_size(spec.size_bytes)} "
        f"download) or run `alphacut models download {spec.name}`."
    )


def describe_run(matte, downloaded, *, key_source=None, selected=False):
    """What ran and why, as GIMP shows it after a run: the method and model, the core's
    notes, and what to do when the result may be wrong (select the subject, install a
    general model)."""
    from alphacut.methods.registry import METHODS
    from alphacut.models import MODEL_SPECS

    spec = METHODS.get(matte.method)
    label = spec.label if spec is not None else matte.method
    ran = matte.model
    what = f"Remove Background: {label}"
    if ran is not None and matte.method != "neural":
        what += f", after the neural model {ran}"
    elif ran is not None:
        what += f" with model {ran}"
    if ran is not None and downloaded:
        what += " (downloaded now)"
    lines = [what + "."]
    if matte.method == "chroma":
        lines.append(f"Key colour: {KEY_SOURCE_WORDS.get(key_source, 'found on the border')}.")
    lines += matte.notes
    model_spec = MODEL_SPECS.get(ran or "")
    if ran is not None and (model_spec is None or model_spec.subject == "person"):
        lines.append(general_model_hint())
    if matte.method == "grabcut" and not selected:
        lines.append(
            "GrabCut guessed where the subject is: select around the subject (any selection "
            "tool) and run again to tell it."
        )
    return "\n".join(line for line in lines if line)


KEY_SOURCE_WORDS = {
    KEY_BORDER: "estimated from the border",
    KEY_FOREGROUND: "GIMP's foreground colour",
    KEY_PICKED: "the colour chosen in the dialog",
}


# --- progress ---------------------------------------------------------------------------------

# The steps alphacut's progress callback names, each method's in the order they come, and
# their rough relative cost: an estimate, not a measurement (the network, GrabCut, chroma's
# matting and the edge refinement are the slow ones; the rest is bookkeeping). The bar only
# needs to move in proportion roughly. A step the plan does not know still moves it, by
# weight 1. alphacut reports step names only, not fractions (see api.remove_background).
STEP_WEIGHTS = {
    "detect": 0.3,
    "load model": 0.5,
    "neural": 3.0,
    "person check": 0.3,
    "chroma": 3.0,
    "grabcut": 3.0,
    "refine": 3.0,
}
METHOD_STEPS = {
    "auto": ("detect", "load model", "neural", "person check"),
    "neural": ("load model", "neural"),
    "chroma": ("chroma",),
    # Without a selection the person model runs first (alphacut.api.model_seeds).
    "grabcut": ("load model", "neural", "grabcut"),
}


def debugging() -> bool:
    """ALPHACUT_DEBUG as alphacut's command line reads it: the plug-in then prints each
    progress step and each unexpected error's traceback to stderr (GIMP's terminal)."""
    value = os.environ.get("ALPHACUT_DEBUG", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def show_progress(fraction: float, text: str | None = None) -> None:
    if text is not None:
        Gimp.progress_set_text(text)
    Gimp.progress_update(fraction)
    if debugging():
        print(f"alphacut-gimp: progress {fraction:.3f} {text or ''}", file=sys.stderr, flush=True)


class StepProgress:
    """alphacut's progress callback (step names) as a bar that fills: each step starts at
    the share of the expected work done before it. The plan is the method's steps plus
    the refinement when it will run; when Automatic hands over to another method, that
    method's plan replaces what was left."""

    def __init__(self, method: str, refined: Callable[[str], bool]) -> None:
        self.refined = refined
        self.remaining = self.plan(method)
        self.done = 0.0
        self.current: str | None = None
        self.fraction = 0.0

    def plan(self, method: str) -> list[str]:
        steps = list(METHOD_STEPS.get(method, ()))
        return steps + ["refine"] if self.refined(method) else steps

    def __call__(self, step: str) -> None:
        if self.current is not None:
            self.done += STEP_WEIGHTS.get(self.current, 1.0)
        if step in self.remaining:
            del self.remaining[: self.remaining.index(step) + 1]
        elif step in METHOD_STEPS:
            plan = self.plan(step)
            self.remaining = plan[plan.index(step) + 1 :]
        self.current = step
        ahead = sum(STEP_WEIGHTS.get(name, 1.0) for name in [step, *self.remaining])
        # Never backwards, even when a hand-over makes the plan longer.
        self.fraction = max(self.fraction, self.done / (self.done + ahead))
        show_progress(self.fraction, f"Removing background: {step}…")


# --- chroma options ---------------------------------------------------------------------------


def srgb(color) -> tuple[float, float, float]:
    """A GeglColor as sRGB in [0, 1]: the encoding of the pixels read (R'G'B')."""
    gi.require_version("Babl", "0.1")
    from gi.repository import Babl

    data = color.get_bytes(Babl.format("R'G'B' double")).get_data()
    return struct.unpack("3d", bytes(data)[:24])


def new_color(rgb: Sequence[float]):
    color = Gegl.Color.new("black")
    # set_rgba takes linear light; the sRGB triple goes through its own format instead.
    gi.require_version("Babl", "0.1")
    from gi.repository import Babl

    color.set_bytes(Babl.format("R'G'B' double"), GLib.Bytes.new(struct.pack("3d", *rgb)))
    return color


def chroma_options(config, options: Sequence[str]) -> dict:
    """``remove_background``'s chroma keywords from the dialog, for a method that reads
    them; only what differs from the core's defaults (so the defaults stay the core's)."""
    if not reads_key(options):
        return {}
    chosen = {}
    source = config.get_property("key-source")
    if source == KEY_FOREGROUND:
        chosen["key_color"] = srgb(Gimp.context_get_foreground())
    elif source == KEY_PICKED:
        chosen["key_color"] = srgb(config.get_property("key-color"))
    tolerance = config.get_property("tolerance")
    if tolerance > AUTO_TOLERANCE:
        chosen["tolerance"] = tolerance
    softness = config.get_property("softness")
    if abs(softness - CORE_SOFTNESS) > 1e-9:
        chosen["softness"] = softness
    if not config.get_property("despill"):
        chosen["despill"] = False
    return chosen


# --- pixels in and out ------------------------------------------------------------------------


def _is_8bit(image):
    return image.get_precision() in (
        Gimp.Precision.U8_LINEAR,
        Gimp.Precision.U8_NON_LINEAR,
        Gimp.Precision.U8_PERCEPTUAL,
    )


def read_rgb(np, drawable, eight_bit):
    """The drawable's pixels as HxWx3 sRGB-encoded RGB: exact bytes for 8-bit images."""
    width, height = drawable.get_width(), drawable.get_height()
    rect = Gegl.Rectangle.new(0, 0, width, height)
    fmt, dtype = ("R'G'B' u8", np.uint8) if eight_bit else ("R'G'B' float", np.float32)
    data = drawable.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    return np.frombuffer(data, dtype).reshape(height, width, 3)


def read_selection(np, image, layer):
    """The selection over the layer's area (layer coordinates), uint8, or None if no selection."""
    if Gimp.Selection.is_empty(image):
        return None
    _, offset_x, offset_y = layer.get_offsets()
    width, height = layer.get_width(), layer.get_height()
    rect = Gegl.Rectangle.new(offset_x, offset_y, width, height)
    # NONE: parts of the layer outside the canvas read as unselected.
    data = image.get_selection().get_buffer().get(rect, 1.0, "Y u8", Gegl.AbyssPolicy.NONE)
    return np.frombuffer(data, np.uint8).reshape(height, width)


def selection_guides(np, selected):
    """GrabCut rectangle and hints (outside definite background) from the selection mask."""
    inside = selected >= 128
    if not inside.any():
        raise calling_error(
            "The selection does not cover the layer: select the subject (or Select > None)."
        )
    if inside.all():
        # A selection of everything says nothing about where the subject is.
        return None, None
    rows, cols = np.nonzero(inside.any(axis=1))[0], np.nonzero(inside.any(axis=0))[0]
    rect = (
        int(cols[0]),
        int(rows[0]),
        int(cols[-1] - cols[0] + 1),
        int(rows[-1] - rows[0] + 1),
    )
    hints = np.where(inside, GRABCUT_PROBABLE_FOREGROUND, GRABCUT_BACKGROUND).astype(np.uint8)
    return rect, hints


def write_gray(np, drawable, values):
    """Write float [0, 1] values into a single-channel drawable (a layer mask)."""
    height, width = values.shape
    data = np.ascontiguousarray(values, dtype=np.float32).tobytes()
    # Linear "Y": masks are stored linear, so the stored values equal the alpha.
    drawable.get_buffer().set(Gegl.Rectangle.new(0, 0, width, height), "Y float", data)
    drawable.get_buffer().flush()
    drawable.update(0, 0, width, height)


def write_rgba(np, drawable, rgb):
    height, width = rgb.shape[:2]
    rgba = np.ones((height, width, 4), np.float32)
    rgba[..., :3] = rgb
    buffer = drawable.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, width, height), "R'G'B'A float", rgba.tobytes())
    buffer.flush()
    drawable.update(0, 0, width, height)


# --- the procedure ----------------------------------------------------------------------------


def target_layer(drawables):
    if len(drawables) != 1:
        raise calling_error(f"Select exactly one layer ({len(drawables)} drawables are selected).")
    drawable = drawables[0]
    if isinstance(drawable, Gimp.LayerMask):
        # The user is editing the mask: act on its layer (which then already has a mask).
        drawable = Gimp.Layer.from_mask(drawable)
    if not isinstance(drawable, Gimp.Layer):
        raise calling_error(f"{drawable.get_name()!r} is not a layer: select a layer.")
    if isinstance(drawable, Gimp.GroupLayer):
        raise calling_error(
            f"{drawable.get_name()!r} is a layer group: select one of its layers "
            "(or merge the group first)."
        )
    return drawable


def confirm_replace_mask(layer):
    """Ask whether to replace the layer's existing mask (interactive mode only)."""
    gi.require_version("Gtk", "3.0")
    from gi.repository import Gtk

    dialog = Gtk.MessageDialog(
        title="Replace Layer Mask?",
        message_type=Gtk.MessageType.QUESTION,
        buttons=Gtk.ButtonsType.NONE,
        text=f"Layer “{layer.get_name()}” already has a layer mask.",
    )
    dialog.format_secondary_text(
        "Replace it with the computed one? Your painted mask will be lost "
        "(Edit > Undo brings it back)."
    )
    dialog.add_buttons("_Cancel", Gtk.ResponseType.CANCEL, "_Replace", Gtk.ResponseType.OK)
    dialog.set_default_response(Gtk.ResponseType.CANCEL)
    answer = dialog.run()
    dialog.destroy()
    return answer == Gtk.ResponseType.OK


def remove_background(procedure, run_mode, image, drawables, config):
    """Mask the layer's background; returns (method that ran, notes), or None if cancelled."""
    layer = target_layer(drawables)
    interactive = run_mode == Gimp.RunMode.INTERACTIVE
    if layer.get_mask() is not None:
        if not interactive:
            raise calling_error(
                f"Layer {layer.get_name()!r} already has a layer mask. Apply or delete it "
                "first (Layer > Mask > Apply Layer Mask / Delete Layer Mask)."
            )
        if not confirm_replace_mask(layer):
            return None
    if image.get_base_type() not in (Gimp.ImageBaseType.RGB, Gimp.ImageBaseType.GRAY):
        raise calling_error("Indexed images are not supported: use Image > Mode > RGB first.")

    method = config.get_property("method")
    refine = config.get_property("refine")  # "default", "on" or "off"
    feather = config.get_property("feather")
    add_foreground = config.get_property("foreground-layer")
    model = config.get_property("model")

    # Imported only now: a missing dependency must not break GIMP's start-up query.
    alphacut, np = import_alphacut()
    from alphacut.methods.registry import METHODS

    spec = METHODS.get(method)
    if model == DEFAULT_MODEL_CHOICE or spec is None or "model" not in spec.options:
        model = None  # the core's default; chroma and GrabCut use no model

    Gimp.progress_init("Removing background…")
    # Before the pixels are read: offline, the one-line error is all that happens.
    downloaded = model is not None and ensure_model(model)
    eight_bit = _is_8bit(image)
    rgb = read_rgb(np, layer, eight_bit)
    selected = read_selection(np, image, layer)
    rect, hints = selection_guides(np, selected) if selected is not None else (None, None)

    # Only what the user chose differently: with the dialog's defaults the call is
    # alphacut's own defaults, as on the command line and in napari.
    options = refine_options(alphacut, refine, feather)
    if model is not None:
        options["model"] = model
    reads = spec.options if spec is not None else ()
    options.update(chroma_options(config, reads))
    key_source = config.get_property("key-source") if reads_key(reads) else None

    def refined(name: str) -> bool:
        # Whether the core will refine what method ``name`` returns (its rule: the
        # method's default unless forced, and any refinement option turns it on).
        if "refine" in options:
            return options["refine"]
        other = METHODS.get(name)
        return (other is None or other.refine) or "feather_sigma" in options

    try:
        matte = alphacut.remove_background(
            rgb,
            method,
            rect=rect,
            hints=hints,
            progress=StepProgress(method, refined),
            **options,
        )
    except (ValueError, TypeError, RuntimeError, MemoryError) as error:
        message = f"alphacut failed ({method}): {one_line(error)}"
        if key_source == KEY_BORDER and "key_color" in str(error):
            # The core's advice names its own argument; in GIMP that is the Key colour.
            message += (
                ". Choose the backdrop's colour under Key colour: GIMP's foreground colour "
                "(pick it with the Color Picker) or the colour chosen in the dialog."
            )
        raise PluginError(message) from error
    show_progress(1.0, "Removing background: writing the layer mask…")

    image.undo_group_start()
    try:
        if layer.get_mask() is not None:
            layer.remove_mask(Gimp.MaskApplyMode.DISCARD)
        if not layer.has_alpha():
            layer.add_alpha()
        mask = layer.create_mask(Gimp.AddMaskType.WHITE)
        layer.add_mask(mask)
        write_gray(np, mask, matte.alpha)
        if add_foreground:
            add_foreground_layer(np, image, layer, matte)
    finally:
        image.undo_group_end()
    notes = describe_run(matte, downloaded, key_source=key_source, selected=rect is not None)
    return matte.method, notes


def add_foreground_layer(np, image, layer, matte):
    """A copy of the layer with the decontaminated colours and its own copy of the mask."""
    layer_type = (
        Gimp.ImageType.RGBA_IMAGE
        if image.get_base_type() == Gimp.ImageBaseType.RGB
        else Gimp.ImageType.GRAYA_IMAGE
    )
    colours = Gimp.Layer.new(
        image,
        f"{layer.get_name()} (decontaminated)",
        layer.get_width(),
        layer.get_height(),
        layer_type,
        100.0,
        Gimp.LayerMode.NORMAL,
    )
    image.insert_layer(colours, layer.get_parent(), image.get_item_position(layer))
    _, offset_x, offset_y = layer.get_offsets()
    colours.set_offsets(offset_x, offset_y)
    write_rgba(np, colours, matte.foreground)
    mask = colours.create_mask(Gimp.AddMaskType.WHITE)
    colours.add_mask(mask)
    write_gray(np, mask, matte.alpha)
    # Both layers visible would stack the edge alpha twice; the original stays for comparison.
    layer.set_visible(False)


def display_available():
    gi.require_version("Gtk", "3.0")
    gi.require_version("Gdk", "3.0")
    from gi.repository import Gdk, Gtk

    # GimpUi.init() kills the plug-in when there is no display (a script calling it
    # interactively from gimp-console on a server): check first.
    initialized, _ = Gtk.init_check(sys.argv)
    return initialized and Gdk.Display.get_default() is not None


# The chroma controls, in a frame of their own. Every label's mnemonic differs from the
# others and from the buttons' (_Help, _Reset, _Load/_Save Settings, _Cancel, _OK), so
# that Alt+letter reaches each control and Alt+O is always OK.
CHROMA_CONTROLS = ["key-source", "key-color", "tolerance", "softness", "despill"]


def build_dialog(procedure, config):
    """The procedure's dialog, whose controls follow the options: the chosen method's
    description under it, Model only for the methods that run one, the chroma frame only
    for Chroma key, Feather only when the edge is refined, the colour only when chosen."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    dialog = GimpUi.ProcedureDialog.new(procedure, config, "Remove Background")
    description = dialog.get_label("method-help", "", False, False)
    description.set_line_wrap(True)
    description.set_max_width_chars(60)
    description.set_xalign(0.0)
    description.get_style_context().add_class("dim-label")
    dialog.get_label("chroma-title", "Chroma key", False, False)
    dialog.fill_box("chroma-box", CHROMA_CONTROLS)
    frame = dialog.fill_frame("chroma-frame", "chroma-title", False, "chroma-box")
    dialog.fill(
        ["method", "method-help", "model", "refine", "feather", "chroma-frame"]
        + ["foreground-layer"]
    )
    table = method_table()
    widget = dialog.get_widget

    def follow(*_: object) -> None:
        name = config.get_property("method")
        label, help_text, options, _ = table.get(name, (name, "", None, True))
        description.set_text(help_text)
        widget("model", GObject.TYPE_NONE).set_sensitive(options is None or "model" in options)
        frame.set_visible(reads_key(options))
        refine = config.get_property("refine")
        widget("feather", GObject.TYPE_NONE).set_sensitive(refine != REFINE_OFF)
        picked = config.get_property("key-source") == KEY_PICKED
        widget("key-color", GObject.TYPE_NONE).set_sensitive(picked)

    for name in ("method", "refine", "key-source"):
        config.connect(f"notify::{name}", follow)
    follow()
    return dialog


def run(procedure, run_mode, image, drawables, config, data):
    try:
        if run_mode == Gimp.RunMode.INTERACTIVE and not display_available():
            # Nobody to ask: behave like a script call with the values given.
            run_mode = Gimp.RunMode.NONINTERACTIVE
        if run_mode == Gimp.RunMode.INTERACTIVE:
            gi.require_version("GimpUi", "3.0")
            from gi.repository import GimpUi

            GimpUi.init(PROC_NAME)
            dialog = build_dialog(procedure, config)
            accepted = dialog.run()
            dialog.destroy()
            if not accepted:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        done = remove_background(procedure, run_mode, image, drawables, config)
    except PluginError as error:
        return procedure.new_return_values(error.status, GLib.Error(str(error)))
    except Exception as error:  # noqa: BLE001 - GIMP must get a message, never a crashed plug-in
        if debugging():
            traceback.print_exc()
        message = f"Remove Background failed: {type(error).__name__}: {one_line(error)}"
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(message))
    if done is None:
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    method_used, notes = done
    if run_mode != Gimp.RunMode.NONINTERACTIVE:
        Gimp.displays_flush()
        # What ran and why, in GIMP's message area (scripts get it as a return value).
        Gimp.message(notes)
    values = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())
    for index, value in ((1, method_used), (2, notes)):
        values.remove(index)
        values.insert(index, GObject.Value(GObject.TYPE_STRING, value))
    return values


class AlphacutRemoveBackground(Gimp.PlugIn):
    def do_set_i18n(self, name):
        return False

    def do_query_procedures(self):
        # realpath: with `alphacut gimp install --link` the help pages stay beside the
        # linked script, in the source tree.
        folder = os.path.join(os.path.dirname(os.path.realpath(__file__)), HELP_FOLDER)
        self.set_help_domain(HELP_DOMAIN, Gio.File.new_for_path(folder))
        return [PROC_NAME]

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label("Remove Background…")
        procedure.add_menu_path("<Image>/Layer/Transparency/")
        methods = method_entries()
        refine_default = refine_default_text()
        procedure.set_documentation(
            "Mask out the background of a layer with alphacut",
            "Computes the subject's alpha with alphacut ("
            + ", ".join(label for _, label, _ in methods)
            + ") and adds it as a layer mask, adding an alpha channel if needed. Refine edges "
            f"(alpha matting and colour clean-up on the edge): Default is the method's own "
            f"({refine_default}), as in alphacut's command line and napari; On or Off forces "
            "it. A selection marks where the subject is: its bounding box is the GrabCut "
            "rectangle and everything outside it is background. Optionally adds a layer with "
            "the decontaminated colours (background colour removed from the edges). Chroma "
            "key keys out a uniform backdrop of any colour: the key colour is estimated from "
            "the border, or GIMP's foreground colour, or the one chosen (key-source, "
            "key-color), with tolerance, softness and despill. The layer must not have a "
            "mask already (interactively you are asked).",
            # The help ID: help/en/gimp-help.xml maps it to alphacut's page.
            name,
        )
        procedure.set_attribution("alphacut developers", "alphacut developers", "2025")

        flags = GObject.ParamFlags.READWRITE
        procedure.add_choice_argument(
            "method",
            "_Method",
            methods_blurb(methods),
            method_choice(methods),
            DEFAULT_METHOD,
            flags,
        )
        model_users = " and ".join(method_labels(reads_option="model") or ["the neural methods"])
        procedure.add_choice_argument(
            "model",
            "Mo_del",
            f"Neural model for {model_users}: installed ones are listed first; one "
            "marked 'download' is downloaded first (GIMP's progress shows it; Cancel stops it)",
            model_choice(),
            DEFAULT_MODEL_CHOICE,
            flags,
        )
        procedure.add_choice_argument(
            "refine",
            "Refine _edges",
            "Alpha matting and colour clean-up on the edge: default (the method's own: "
            f"{refine_default}), on or off",
            refine_choice(),
            REFINE_DEFAULT,
            flags,
        )
        feather = core_feather()
        procedure.add_double_argument(
            "feather",
            "_Feather radius",
            f"Softness of the refined edge, in pixels (alphacut's default {feather:g}). "
            "Unused when Refine edges is Off; with Default, another radius asks for "
            "refinement, of a method not refined by default too",
            0.0,
            50.0,
            feather,
            flags,
        )
        procedure.add_boolean_argument(
            "foreground-layer",
            "Add a layer _with decontaminated colours",
            "Also add a layer whose edge colours have the background removed (hides the "
            "original layer)",
            False,
            flags,
        )
        chroma_users = " and ".join(method_labels(reads_option="key_color") or ["Chroma key"])
        procedure.add_choice_argument(
            "key-source",
            "_Key colour",
            f"The backdrop colour {chroma_users} keys out: estimated from the image border, "
            "GIMP's foreground colour (pick it from the image with the Color Picker), or the "
            "colour chosen below. Any uniform colour works, not only green or blue",
            key_source_choice(),
            KEY_BORDER,
            flags,
        )
        Gegl.init(None)
        procedure.add_color_argument(
            "key-color",
            "Chosen colo_ur",
            "The key colour when Key colour is 'the colour chosen here' (its colour dialog "
            "has a picker for the image)",
            False,
            new_color(DEFAULT_PICKED_KEY),
            flags,
        )
        procedure.add_double_argument(
            "tolerance",
            "_Tolerance (0: automatic)",
            "How far from the key colour a pixel is still pure backdrop, in units of the "
            "key's saturation; 0 measures the backdrop's own noise along the border",
            0.0,
            3.0,
            AUTO_TOLERANCE,
            flags,
        )
        procedure.add_double_argument(
            "softness",
            "Soft_ness",
            "Width of the ramp from backdrop to subject, in the same units "
            f"(alphacut's default {CORE_SOFTNESS:g})",
            0.01,
            3.0,
            CORE_SOFTNESS,
            flags,
        )
        procedure.add_boolean_argument(
            "despill",
            "Des_pill",
            "Remove the backdrop's colour cast from the subject's edge colours",
            True,
            flags,
        )
        procedure.add_string_return_value(
            "method-used", "Method used", "The method that ran ('auto' resolved)", "", flags
        )
        procedure.add_string_return_value(
            "notes",
            "Notes",
            "What ran and why (alphacut's notes), one per line, and how to install a general "
            "model when none is",
            "",
            flags,
        )
        return procedure


Gimp.main(AlphacutRemoveBackground.__gtype__, sys.argv)
