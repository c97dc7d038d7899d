"""The core's own answer for a GIMP job: ``alphacut.remove_background`` on the pixels GIMP
read, run with the Python environment GIMP uses (so both see the same library versions).

Usage: python reference.py JOB_JSON  (writes alpha.npy, foreground.npy, reference.json)
"""

import json
import os
import sys

import numpy as np

import alphacut


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
    refine = args.get("refine", True)
    options = {"refine": refine}
    if refine:
        options["feather_sigma"] = args.get("feather", 1.0)
    reference = job.get("reference", {})
    hints = None
    if reference.get("hints"):
        hints = np.load(reference["hints"])
    rect = tuple(reference["rect"]) if reference.get("rect") else None
    method = args.get("method", "auto")
    if args.get("model", "default") != "default" and method in ("auto", "neural"):
        options["model"] = args["model"]
    matte = alphacut.remove_background(rgb, method, rect=rect, hints=hints, **options)
    np.save(os.path.join(out, "alpha.npy"), matte.alpha)
    np.save(os.path.join(out, "foreground.npy"), matte.foreground)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"method": matte.method, "alphacut": alphacut.__file__}, f)


if __name__ == "__main__":
    main(sys.argv[1])
