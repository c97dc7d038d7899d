"""``alphacut INPUT... [-o OUTPUT]``: cut the subject out of photos, one or many."""

from __future__ import annotations

import argparse
import glob
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alphacut.compose import composite, cutout, mask_image, parse_color
from alphacut.io import ImageReadError, ImageWriteError, encode_image, read_image, write_image
from alphacut.io.read import read_image_bytes
from alphacut.io.write import FORMATS, format_for
from alphacut.pipeline import METHODS, remove_background

__all__ = ["build_parser", "run_cutout"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
OUTPUT_TAG = ".cut"  # photo.jpg -> photo.cut.png beside it; skipped when scanning folders

DESCRIPTION = """\
Remove the background of photos: writes a cut-out with a soft alpha edge (PNG/WebP keep
transparency), a new background, or the mask alone.

The default neural model (embedded, works offline) is a PERSON segmenter: use it for
photos of people. For a green/blue screen use --method chroma (auto detects it); for other
subjects use --method grabcut, optionally with --rect, or a general model (--model).
"""

EPILOG = """\
outputs:
  one file      -> OUTPUT, or <stem>.cut.png beside the input
  many / folder -> files in the folder OUTPUT (default: beside each input; <folder>-cut/
                   for a folder); '-' reads standard input / writes standard output
  existing files are never replaced without --overwrite; an input is never overwritten

other commands:
  alphacut demo              cut out a sample photo shipped with the package
  alphacut models ...        list, download, locate and verify models
  alphacut gimp install      install the GIMP 3 plug-in

exit status: 0 all done, 1 some file failed (listed at the end), 2 usage error
"""


def _rect(text: str) -> tuple[int, int, int, int]:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected X,Y,WIDTH,HEIGHT in pixels, got {text!r}")
    x, y, w, h = (int(p) for p in parts)
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"rectangle width and height must be positive: {text!r}")
    return x, y, w, h


def _colour(text: str) -> tuple[int, int, int]:
    try:
        return parse_color(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _band(text: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected pixels or a fraction, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("band must be positive")
    return value if value < 1 else int(round(value))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the cut-out command."""
    parser = argparse.ArgumentParser(
        prog="alphacut",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photos, folders, globs or -")
    parser.add_argument("-o", "--output", help="output file, or folder for several inputs")
    parser.add_argument(
        "--format",
        choices=sorted(set(FORMATS) - {"jpeg", "tif"}),
        help=(
            "output format (default: from OUTPUT's extension, else png); jpg flattens onto "
            "--bg-color (white by default)"
        ),
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    from alphacut import __version__

    parser.add_argument("--version", action="version", version=f"alphacut {__version__}")

    method = parser.add_argument_group("method")
    method.add_argument(
        "-m",
        "--method",
        choices=METHODS,
        default="auto",
        help=(
            "auto: chroma if the border is a green/blue screen, else neural, else grabcut (default)"
        ),
    )
    method.add_argument(
        "--model",
        default=None,
        help=(
            "neural model: a name from 'alphacut models list' or a PATH.onnx (default: "
            "$ALPHACUT_MODEL or the config file's, else the best installed general model, "
            "else selfie: embedded, people only)"
        ),
    )
    method.add_argument(
        "--device",
        default="auto",
        help=("ONNX Runtime device: auto (CUDA, then CoreML/DirectML, then CPU), cpu, cuda, ..."),
    )
    method.add_argument("--rect", type=_rect, help="GrabCut box X,Y,WIDTH,HEIGHT in pixels")
    method.add_argument(
        "--key-color", type=_colour, help="chroma key colour (default: from border)"
    )
    method.add_argument("--tolerance", type=float, help="chroma: distance keyed out fully")
    method.add_argument("--softness", type=float, help="chroma: width of the soft ramp")
    method.add_argument(
        "--no-despill",
        dest="despill",
        action="store_false",
        help="chroma: keep the screen's colour cast on the subject",
    )

    from alphacut.cli.models import add_model_spec_options

    add_model_spec_options(parser)

    edges = parser.add_argument_group("edge refinement (default on for neural and grabcut)")
    switch = edges.add_mutually_exclusive_group()
    switch.add_argument(
        "--refine",
        dest="refine",
        action="store_true",
        default=None,
        help="refine edges even for chroma",
    )
    switch.add_argument(
        "--no-refine", dest="refine", action="store_false", help="keep the method's own edge"
    )
    edges.add_argument(
        "--no-matting",
        dest="matting",
        action="store_false",
        default=None,
        help="skip alpha matting on the edge band",
    )
    edges.add_argument(
        "--band",
        type=_band,
        help=(
            "width of the unknown edge band: pixels (>= 1) or a fraction of the short side (< 1);"
            " default: the coarse alpha's own soft edge, 2%% of the short side at hard edges"
        ),
    )
    edges.add_argument(
        "--feather",
        type=float,
        metavar="SIGMA",
        help=("Gaussian feather on the edge band in pixels (default 1; 0 = off)"),
    )
    edges.add_argument(
        "--no-decontaminate",
        dest="decontaminate",
        action="store_false",
        default=None,
        help="keep the background's colour in edge pixels",
    )

    compose = parser.add_argument_group("output content (default: transparent cut-out)")
    content = compose.add_mutually_exclusive_group()
    content.add_argument("--mask-only", action="store_true", help="write the alpha as grey")
    content.add_argument("--bg-color", type=_colour, help="put the subject on this colour")
    content.add_argument("--bg-image", type=Path, help="put the subject on this image")
    return parser


@dataclass
class Job:
    source: str  # path, or "-" for standard input
    target: str  # path, or "-" for standard output
    fmt: str


def _expand(inputs: list[str]) -> tuple[list[tuple[str, Path | None]], list[tuple[str, str]]]:
    """Inputs as (source, folder it came from); plus (name, problem) for unmatched ones."""
    found: list[tuple[str, Path | None]] = []
    missing: list[tuple[str, str]] = []
    for item in inputs:
        if item == "-":
            found.append(("-", None))
        elif Path(item).is_dir():
            files = sorted(
                p
                for p in Path(item).iterdir()
                if p.is_file()
                and p.suffix.lower() in IMAGE_SUFFIXES
                and OUTPUT_TAG not in p.suffixes
                and not p.name.startswith(".")
            )
            if not files:
                missing.append((item, "folder holds no images"))
            found.extend((str(p), Path(item)) for p in files)
        elif glob.has_magic(item) and not Path(item).exists():
            matches = sorted(glob.glob(item))
            if not matches:
                missing.append((item, "no file matches this pattern"))
            found.extend((m, None) for m in matches if Path(m).is_file())
        else:
            found.append((item, None))
    return found, missing


def _plan(args: argparse.Namespace) -> tuple[list[Job], list[tuple[str, str]]]:
    sources, problems = _expand(args.inputs)
    ext = args.format or "png"
    single = len(sources) == 1 and sources[0][1] is None and len(args.inputs) == 1
    output = args.output
    if single and (output is None or output == "-" or not _is_folder(output)):
        source = sources[0][0]
        if output is None:
            target = "-" if source == "-" else str(_beside(Path(source), ext))
        else:
            target = output
            if args.format is None and output != "-":
                ext = Path(output).suffix.lstrip(".").lower() or ext
        return [Job(source, target, _fmt(target, ext))], problems

    jobs, seen = [], {}
    for source, folder in sources:
        if source == "-":
            problems.append(("-", "standard input can only be used alone"))
            continue
        path = Path(source)
        if output is not None:
            target = Path(output) / f"{path.stem}.{ext}"
        elif folder is not None:
            target = folder.parent / f"{folder.name}-cut" / f"{path.stem}.{ext}"
        else:
            target = _beside(path, ext)
        if target in seen:
            problems.append((source, f"same output name as {seen[target]} ({target})"))
            continue
        seen[target] = source
        jobs.append(Job(source, str(target), _fmt(target, ext)))
    return jobs, problems


def _is_folder(output: str) -> bool:
    return output.endswith(("/", "\\")) or Path(output).is_dir()


def _beside(path: Path, ext: str) -> Path:
    return path.with_name(f"{path.stem}{OUTPUT_TAG}.{ext}")


def _fmt(target, ext: str) -> str:
    return FORMATS[ext] if target == "-" else format_for(target, ext)


def _render(matte, args, background) -> np.ndarray:
    if args.mask_only:
        return mask_image(matte.alpha)
    if background is not None:
        return composite(matte.foreground, matte.alpha, background)
    if args.bg_color is not None:
        return composite(matte.foreground, matte.alpha, args.bg_color)
    return cutout(matte.foreground, matte.alpha)


def run_cutout(argv: list[str]) -> int:
    """Entry of ``alphacut INPUT...``; returns the exit status."""
    from alphacut.cli.models import model_from_args
    from alphacut.models import load_model
    from alphacut.pipeline import choose_model

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        model = model_from_args(args)
    except (ValueError, KeyError, FileNotFoundError) as error:
        parser.error(str(error).strip("'\""))
    options = dict(
        method=args.method,
        model=model,
        device=args.device,
        rect=args.rect,
        key_color=None if args.key_color is None else tuple(c / 255 for c in args.key_color),
        tolerance=args.tolerance,
        softness=args.softness,
        despill=args.despill,
        refine=args.refine,
    )
    refine_options = {
        k: v
        for k, v in dict(
            matting=args.matting,
            band=args.band,
            feather_sigma=args.feather,
            decontaminate=args.decontaminate,
        ).items()
        if v is not None
    }
    if refine_options and args.refine is False:
        parser.error("--no-refine cannot be combined with --band/--feather/--no-matting/...")
    if args.model and args.model.endswith(".onnx") and not Path(args.model).is_file():
        parser.error(f"--model {args.model}: no such file")
    if args.method in ("auto", "neural"):
        # Load (and on first use download) once, up front: a missing or corrupt model is
        # one error, not one per photo, and the user learns where it runs before waiting.
        try:
            # The same choice remove_background makes; its session is then reused.
            loaded = load_model(choose_model(model)[0], device=args.device)
        except ValueError as error:
            parser.error(str(error))
        except (KeyError, RuntimeError, OSError) as error:
            print(f"alphacut: error: {str(error).strip(chr(39))}", file=sys.stderr)
            return 1

    try:
        jobs, problems = _plan(args)
    except ValueError as error:
        parser.error(str(error))
    if args.output and len(jobs) > 1 or (jobs and args.output and _is_folder(args.output)):
        out = Path(args.output)
        if out.exists() and not out.is_dir():
            parser.error(f"-o {args.output}: several inputs need a folder, this is a file")
        out.mkdir(parents=True, exist_ok=True)
    background = None
    if args.bg_image is not None:
        try:
            background = read_image(args.bg_image)
        except ImageReadError as error:
            print(f"alphacut: error: background image {error}", file=sys.stderr)
            return 2

    failures = [(name, problem) for name, problem in problems]
    for name, problem in problems:
        print(f"alphacut: error: {name}: {problem}", file=sys.stderr)
    show_bar = len(jobs) > 1 and not args.quiet
    if show_bar and args.method in ("auto", "neural"):
        # A batch reports where the model runs once, before the progress bar.
        print(f"alphacut: model {loaded.describe()}", file=sys.stderr)
    progress = _progress(jobs, show_bar)
    inputs = tuple(job.source for job in jobs if job.source != "-")
    for job in progress:
        start = time.perf_counter()
        try:
            image = (
                read_image_bytes(sys.stdin.buffer.read())
                if job.source == "-"
                else read_image(job.source)
            )
            matte = remove_background(image, **options, **refine_options)
            result = _render(matte, args, background)
            flatten = args.bg_color or (255, 255, 255)
            if job.target == "-":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the user asked for JPEG explicitly
                    sys.stdout.buffer.write(encode_image(result, job.fmt, flatten_color=flatten))
                sys.stdout.buffer.flush()
            else:
                if args.output is None:
                    # The default "<folder>-cut" output folders are made on demand.
                    Path(job.target).parent.mkdir(parents=True, exist_ok=True)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    write_image(
                        job.target,
                        result,
                        fmt=job.fmt,
                        overwrite=args.overwrite,
                        protect=inputs,
                        flatten_color=flatten,
                    )
                for warning in caught:
                    print(f"alphacut: warning: {job.target}: {warning.message}", file=sys.stderr)
        except (ImageReadError, ImageWriteError) as error:
            failures.append((job.source, str(error)))
            _report(progress, f"alphacut: error: {error}")
            continue
        except Exception as error:  # noqa: BLE001 - one photo's failure must not stop a batch
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            failures.append((job.source, message))
            _report(progress, f"alphacut: error: {job.source}: {message}")
            continue
        if not args.quiet and not show_bar:
            seconds = time.perf_counter() - start
            where = "standard output" if job.target == "-" else job.target
            print(f"{job.source} -> {where} ({_describe(matte)}, {seconds:.2f} s)", file=sys.stderr)
            for note in matte.notes:
                print(f"  {note}", file=sys.stderr)

    done = len(jobs) - sum(1 for name, _ in failures if name in {j.source for j in jobs})
    if len(jobs) > 1 and not args.quiet:
        print(f"alphacut: {done} of {len(jobs)} written", file=sys.stderr)
    if failures and len(jobs) + len(problems) > 1:
        # A batch lists its failures again at the end, where they cannot scroll away.
        print(f"alphacut: {len(failures)} failed:", file=sys.stderr)
        for name, problem in failures:
            print(
                f"  {problem if problem.startswith(name) else f'{name}: {problem}'}",
                file=sys.stderr,
            )
    return 1 if failures else 0


def _describe(matte) -> str:
    return f"{matte.method} on {matte.provider}" if matte.provider else matte.method


def _progress(jobs: list[Job], show: bool):
    if not show:
        return jobs
    from tqdm import tqdm

    return tqdm(jobs, unit="photo", desc="alphacut", file=sys.stderr)


def _report(progress, message: str) -> None:
    if hasattr(progress, "write"):
        progress.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr)
