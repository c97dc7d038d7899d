"""Runs inside GIMP 3 (python-fu-eval batch): set up an image as a job says, call the plug-in
non-interactively like a script would, and dump what the test needs to check.

Executed with ``JOB`` (the job file's path) already defined; see ``gimp_harness.run_job``.
Writes ``result.json`` in the job's output folder even when something fails, so the test
can show what went wrong; raising makes GIMP exit with status 64.

A job file with ``"jobs"`` (a list of jobs, each with its own ``outdir``) runs them in turn
in this one GIMP, each announced on stderr by a ``JOB_MARKER`` line so the test can tell
whose output is whose; each job's ``result.json`` is written before the plug-in is called,
so a call that never returns leaves a result saying so.
"""

import json
import os
import struct
import sys
import time
import traceback

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

PROC_NAME = "python-fu-alphacut-remove-background"
JOB_MARKER = "=== alphacut batch job: "


def read_bytes(drawable, fmt):
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    return bytes(drawable.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE))


def layer_info(layer):
    _, x, y = layer.get_offsets()
    return {
        "name": layer.get_name(),
        "width": layer.get_width(),
        "height": layer.get_height(),
        "offsets": [x, y],
        "visible": layer.get_visible(),
        "has_alpha": layer.has_alpha(),
        "has_mask": layer.get_mask() is not None,
    }


def write_result(out, result):
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f, indent=2)


def new_color(rgb):
    """A GeglColor from sRGB in [0, 1] (what GIMP's colour dialogs and pickers show)."""
    gi.require_version("Babl", "0.1")
    from gi.repository import Babl, GLib

    color = Gegl.Color.new("black")
    color.set_bytes(Babl.format("R'G'B' double"), GLib.Bytes.new(struct.pack("3d", *rgb)))
    return color


def setup_image(job, result):
    """Load the job's image and arrange it as the job says; returns (image, layer)."""
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(job["input"]))
    layer = image.get_layers()[0]
    result["stage"] = "setup"
    if job.get("canvas"):
        image.resize(*job["canvas"], 0, 0)
    if job.get("offset"):
        layer.set_offsets(*job["offset"])
    if job.get("existing_mask"):
        layer.add_mask(layer.create_mask(Gimp.AddMaskType.WHITE))
    if job.get("selection"):
        x, y, w, h = job["selection"]
        if job.get("selection_shape") == "ellipse":
            image.select_ellipse(Gimp.ChannelOps.REPLACE, x, y, w, h)
        else:
            image.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, w, h)
    if job.get("foreground"):
        # The user's foreground colour, as the toolbox or the Color Picker sets it.
        Gimp.context_set_foreground(new_color(job["foreground"]))
    result["base_type"] = image.get_base_type().value_nick
    result["layer_before"] = layer_info(layer)
    return image, layer


def describe(procedure):
    """The procedure as GIMP registered it: what the dialog's drop-downs list, in order
    ([nick, label, help]), and the arguments' defaults."""
    described = {
        "name": procedure.get_name(),
        "menu_label": procedure.get_menu_label(),
        "menu_paths": list(procedure.get_menu_paths()),
        "image_types": procedure.get_image_types(),
        "arguments": [spec.name for spec in procedure.get_arguments()],
        "blurbs": {spec.name: spec.get_blurb() for spec in procedure.get_arguments()},
        "help_id": procedure.get_help_id(),
    }
    choices, defaults = {}, {}
    for argument in ("method", "model", "refine", "key-source"):
        spec = procedure.find_argument(argument)
        if spec is None:
            continue
        choice = Gimp.param_spec_choice_get_choice(spec)
        choices[argument] = [
            [nick, choice.get_label(nick), choice.get_help(nick)] for nick in choice.list_nicks()
        ]
        defaults[argument] = Gimp.param_spec_choice_get_default(spec)
    for argument in ("feather", "tolerance", "softness", "despill"):
        spec = procedure.find_argument(argument)
        if spec is not None:
            defaults[argument] = spec.get_default_value()
    described["choices"], described["defaults"] = choices, defaults
    return described


def configure(procedure, job, image, target):
    config = procedure.create_config()
    run_mode = getattr(Gimp.RunMode, job.get("run_mode", "noninteractive").upper())
    config.set_property("run-mode", run_mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [target])
    for name, value in job.get("args", {}).items():
        if name == "key-color":
            config.set_property(name, new_color(value))
            continue
        config.set_property(name, value)
        # GIMP replaces a value its argument does not take (a choice's unknown nick, a
        # boolean for a choice) by the default, silently: a test would then check
        # something else than it says.
        kept = config.get_property(name)
        if kept != value and not (isinstance(value, float) and abs(kept - value) < 1e-9):
            raise ValueError(f"argument {name!r}: set to {value!r}, GIMP kept {kept!r}")
    return config


def call(procedure, config, result):
    start = time.perf_counter()
    values = procedure.run(config)
    result["seconds"] = time.perf_counter() - start
    status = values.index(0)
    result["status"] = status.value_nick
    result["error"] = (
        Gimp.get_pdb().get_last_error() if status != Gimp.PDBStatusType.SUCCESS else ""
    )
    if status == Gimp.PDBStatusType.SUCCESS:
        result["method_used"] = values.index(1)
        result["notes"] = values.index(2)


def dump(out, image, layer, result):
    result["layers"] = [layer_info(item) for item in image.get_layers()]
    mask = layer.get_mask()
    if mask is not None:
        with open(os.path.join(out, "mask.raw"), "wb") as f:
            f.write(read_bytes(mask, "Y u8"))
    extra = [item for item in image.get_layers() if item != layer]
    if extra:
        with open(os.path.join(out, "foreground.raw"), "wb") as f:
            f.write(read_bytes(extra[0], "R'G'B'A u8"))
        if extra[0].get_mask() is not None:
            with open(os.path.join(out, "foreground-mask.raw"), "wb") as f:
                f.write(read_bytes(extra[0].get_mask(), "Y u8"))


def export(out, image, layer):
    for item in image.get_layers():
        # Export what the plug-in made of the source layer alone.
        item.set_visible(item == layer)
    Gimp.file_save(
        Gimp.RunMode.NONINTERACTIVE,
        image,
        Gio.File.new_for_path(os.path.join(out, "export.png")),
        None,
    )


def run_job(job):
    out = job["outdir"]
    result = {"stage": "load"}
    try:
        image, layer = setup_image(job, result)
        # The pixels as the plug-in reads them, for the reference computed outside GIMP.
        with open(os.path.join(out, "input.raw"), "wb") as f:
            f.write(read_bytes(layer, "R'G'B' u8"))

        result["stage"] = "procedure"
        procedure = Gimp.get_pdb().lookup_procedure(PROC_NAME)
        if procedure is None:
            raise RuntimeError(f"{PROC_NAME} is not registered")
        if job.get("describe"):
            result["procedure"] = describe(procedure)
        target = layer.get_mask() if job.get("drawable") == "mask" else layer
        config = configure(procedure, job, image, target)
        # Written now: if the call never returns, the test still learns how far it got.
        write_result(out, result)
        call(procedure, config, result)

        result["stage"] = "dump"
        dump(out, image, layer, result)
        result["stage"] = "export"
        export(out, image, layer)
        result["stage"] = "done"
    except Exception:
        result["exception"] = traceback.format_exc()
    write_result(out, result)


with open(JOB) as job_file:  # noqa: F821 - JOB is defined by the batch command
    JOB_SPEC = json.load(job_file)
for one_job in JOB_SPEC.get("jobs", [JOB_SPEC]):
    print(f"{JOB_MARKER}{os.path.basename(one_job['outdir'])}", file=sys.stderr, flush=True)
    run_job(one_job)
