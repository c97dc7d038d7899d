"""The core's own answer for a GIMP job: ``alphacut.remove_background`` on the pixels GIMP
read, run with the Python environment GIMP uses (so both see the same library versions).

Only what the job's arguments choose is passed; everything else is left to the core's own
defaults, so that the plug-in's defaults are checked against the core's rather than copied.

Usage: python reference.py JOB_JSON  (writes alpha.npy, foreground.npy, reference.json)
"""

import json
import os
import sys

import numpy as np

import alphacut
from alphacut.methods.registry import get_method


def refine_options(args: dict) -> dict:
    """The refinement keywords a user who set the job's GIMP arguments asks the core for.

    Refine edges at "default" (or not given) passes no refine option: the core's own
    default for the method. A feather passes ``feather_sigma`` unless refinement is off;
    with "default" that asks for refinement (the core's rule), so a job that wants the
    core's defaults gives no feather. No restated defaults: those are the core's.
    """
    refine = args.get("refine", "default")
    options = {}
    if refine != "default":
        options["refine"] = {"on": True, "off": False}[refine]
    if "feather" in args and refine != "off":
        options["feather_sigma"] = args["feather"]
    return options


def chroma_options(job: dict) -> dict:
    """The chroma keywords a user who set the job's GIMP arguments asks the core for:
    the key colour they chose (GIMP's foreground colour, or the chosen one), and the
    tolerance, softness and despill they changed (0 tolerance is automatic)."""
    args, options = job.get("args", {}), {}
    source = args.get("key-source", "border")
    if source == "foreground":
        options["key_color"] = tuple(job["foreground"])
    elif source == "picked":
        options["key_color"] = tuple(args["key-color"])
    if args.get("tolerance"):
        options["tolerance"] = args["tolerance"]
    for name in ("softness", "despill"):
        if name in args:
            options[name] = args[name]
    return options


def main(job_path: str) -> None:
    with open(job_path) as f:
        job = json.load(f)
    out = job["outdir"]
    with open(os.path.join(out, "result.json")) as f:
        layer = json.load(f)["layer_before"]
    height, width = layer["height"], layer["width"]
    raw = np.fromfile(os.path.join(out, "input.raw"), np.uint8)
    rgb = raw.reshape(height, width, 3)

    args = job.get("args", {})
    options = refine_options(args)
    reference = job.get("reference", {})
    if reference.get("hints"):
        options["hints"] = np.load(reference["hints"])
    if reference.get("rect"):
        options["rect"] = tuple(reference["rect"])
    method = args.get("method")
    if method is not None:
        options["method"] = method
    if "key_color" in get_method(method or "auto").options:
        options.update(chroma_options(job))
    model = args.get("model", "default")
    if model != "default" and "model" in get_method(method or "auto").options:
        options["model"] = model
    # Only what the job chose: everything else is the core's own default.
    matte = alphacut.remove_background(rgb, **options)
    np.save(os.path.join(out, "alpha.npy"), matte.alpha)
    np.save(os.path.join(out, "foreground.npy"), matte.foreground)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"method": matte.method, "alphacut": alphacut.__file__}, f)


if __name__ == "__main__":
    main(sys.argv[1])
