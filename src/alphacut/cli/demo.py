"""``alphacut demo``: the main job on a photo that ships with the package, offline."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="cut out a sample photo shipped with the package",
        description="Cut the astronaut photo (scikit-image's sample) out with the embedded "
        "person model and edge refinement, and say where the result went.",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("alphacut-demo"),
        help="folder for the results (default: ./alphacut-demo)",
    )


def run(args: argparse.Namespace) -> int:
    from skimage.data import astronaut

    from alphacut import remove_background
    from alphacut.compose import cutout, mask_image
    from alphacut.io import write_image

    photo = astronaut()
    start = time.perf_counter()
    matte = remove_background(photo)
    seconds = time.perf_counter() - start
    args.output.mkdir(parents=True, exist_ok=True)
    outputs = {
        "astronaut.png": photo,
        "astronaut.cut.png": cutout(matte.foreground, matte.alpha),
        "astronaut.mask.png": mask_image(matte.alpha),
    }
    for name, array in outputs.items():
        write_image(args.output / name, array, overwrite=True)
    soft = float(((matte.alpha > 0.02) & (matte.alpha < 0.98)).mean())
    print(f"method: {matte.method}; {seconds:.2f} s; {soft:.1%} of pixels on a soft edge")
    for name in outputs:
        print(f"wrote {(args.output / name).resolve()}")
    sys.stdout.flush()
    return 0
