"""``alphacut INPUT... [-o OUTPUT]``: cut the subject out of photos, one or many.

The run has three stages, so that nothing is computed for a photo whose result could not
be written: plan (inputs and output names), check (each input's header and frame count,
each output's path), then cut out what is left: in this process, for a batch with
``--jobs`` above 1 in worker processes (:mod:`alphacut.batch.processes`), or with
``--scheduler`` on a Dask cluster (:mod:`alphacut.batch.cluster`); the stages after
planning are :func:`alphacut.batch.engine.run_batch`'s, which the Python API
:func:`alphacut.batch.remove_backgrounds` runs too. Every message is one line with names
escaped; a batch reports its skipped and failed files once, at the end.
With ``--debug`` (or ``ALPHACUT_DEBUG=1``) each error's traceback follows its line.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from alphacut._internal.errors import first_line
from alphacut.api import METHODS
from alphacut.batch.engine import Job, ModelUnavailable, Recipe, run_batch
from alphacut.batch.photo import DEVELOPER_WARNINGS, OUTPUT_TAG, shown
from alphacut.batch.report import BatchReport
from alphacut.cli import DEBUG_HELP, debugging, print_traceback
from alphacut.compose import parse_color
from alphacut.io import ImageReadError, probe_image, read_image
from alphacut.io.paths import display, escape_text, folder_problem
from alphacut.io.write import FORMATS, format_for
from alphacut.models.specs import UnknownModelError

__all__ = ["build_parser", "run_cutout"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"}

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
  animations    -> every frame of an animated GIF, WebP or PNG and every page of a TIFF
                   is cut out, to numbered files: anim.gif -> anim-001.cut.png,
                   anim-002.cut.png, ... (-o out.png -> out-001.png, ...)
  existing outputs are never replaced without --overwrite: a batch skips them before any
  work, so rerunning it finishes what is missing (skipped outputs that do not look
  finished, i.e. older than their input or not a whole image file, are named with why);
  an input is never overwritten; outputs are only regular files (a folder, pipe or device
  in the way is refused); each output appears whole or not at all, even when interrupted

on a Dask cluster (--scheduler ADDRESS or $ALPHACUT_SCHEDULER; pip install
  'alphacut[cluster]'): each photo is a task, each worker loads the model once and writes
  its photos' outputs itself; the same progress, summary and exit status as on this
  machine; a photo whose worker died is cut out again on another, one that kills its
  workers repeatedly is reported as failed
  a file name that starts with '-': put -- before it (alphacut -- -photo.jpg)

other commands:
  alphacut demo              cut out a sample photo shipped with the package
  alphacut models ...        list, download, locate and verify models
  alphacut gimp install      install the GIMP 3 plug-in

exit status: 0 all written, 1 some file failed or was skipped (listed at the end),
  2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)
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


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of photos, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1 photo at a time, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (the full usage is 12 lines that bury the error), with
    names escaped, and a word on file names that argparse took for options."""

    argv: list[str]

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        self.argv = list(sys.argv[1:] if args is None else args)
        return super().parse_args(self.argv, namespace)

    def error(self, message: str):  # type: ignore[override]
        dashed = _dashed_file_names(self, getattr(self, "argv", []))
        if dashed:
            name = display(dashed[0])
            message += (
                f"; {name} was taken for an option: put -- before file names that start "
                f"with '-' (alphacut [options] -- {name}), or write ./{name}"
            )
        self.exit(2, f"{self.prog}: error: {escape_text(message)} (see alphacut --help)\n")


def _dashed_file_names(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Arguments before ``--`` that start with '-', are no option, and look like files."""
    options = parser._option_string_actions
    found = []
    for token in argv:
        if token == "--":
            break
        if not token.startswith("-") or token == "-" or token.split("=", 1)[0] in options:
            continue
        if os.path.lexists(token):
            found.append(token)  # even where it parses, e.g. -m.jpg as "--method .jpg"
            continue
        short = options.get(token[:2])
        if short is not None and short.nargs != 0 and not token.startswith("--"):
            continue  # -oOUT: a short option with its value attached
        if Path(token).suffix.lower() in IMAGE_SUFFIXES:
            found.append(token)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the cut-out command."""
    parser = _Parser(
        prog="alphacut",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="photos, folders, globs or - (put -- before names that start with '-')",
    )
    parser.add_argument("-o", "--output", help="output file, or folder for several inputs")
    parser.add_argument(
        "--format",
        choices=sorted(set(FORMATS) - {"jpeg", "tif"}),
        help=(
            "output format (default: from OUTPUT's extension, else png); jpg flattens onto "
            "--bg-color (white by default)"
        ),
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing outputs (regular files only)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        metavar="N",
        help=(
            "photos of a batch cut out at once, each in a process with its own model session"
            " (default: the CPU cores; 1 with a GPU); 1: one at a time, in this process"
        ),
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=(
            "run the batch on the Dask cluster whose scheduler is at ADDRESS (e.g."
            " tcp://head:8786; default: $ALPHACUT_SCHEDULER unless --jobs is given); its"
            " workers must see the inputs and OUTPUT under the same names"
            " (needs alphacut[cluster])"
        ),
    )
    from alphacut import __version__

    parser.add_argument("--version", action="version", version=f"alphacut {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)

    method = parser.add_argument_group("method")
    method.add_argument(
        "-m",
        "--method",
        choices=METHODS,
        default="auto",
        metavar="METHOD",
        help="; ".join(f"{spec.name}: {spec.help}" for spec in METHODS.values())
        + " (default: auto)",
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
        "--solver",
        choices=("closed-form", "infoflow"),
        help=(
            "matting solver: closed-form (default) or infoflow, better on hair and leaves"
            " (about 0.8x the error) and about 4x slower"
        ),
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


def _scan_folder(folder: Path) -> list[Path]:
    """The photos of a folder: entries with an image suffix that are not folders. Broken
    links and pipes are kept, so that they are reported instead of silently missing."""
    found = []
    for entry in os.scandir(folder):
        path = Path(entry.path)
        if (
            path.suffix.lower() in IMAGE_SUFFIXES
            and OUTPUT_TAG not in path.suffixes
            and not path.name.startswith(".")  # hidden files, our own temporary files
            and not _is_dir(entry)
        ):
            found.append(path)
    return sorted(found)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False  # unreadable: kept, so that reading it reports why


def _expand(inputs: list[str]) -> tuple[list[tuple[str, Path | None]], list[tuple[str, str]]]:
    """Inputs as (source, folder it came from); plus (name, problem) for unmatched ones."""
    found: list[tuple[str, Path | None]] = []
    missing: list[tuple[str, str]] = []
    for item in inputs:
        if item == "-":
            found.append(("-", None))
        elif Path(item).is_dir():
            try:
                files = _scan_folder(Path(item))
            except OSError as error:
                missing.append((item, f"cannot list the folder ({error.strerror or error})"))
                continue
            if not files:
                missing.append((item, "folder holds no images"))
            found.extend((str(p), Path(item)) for p in files)
        elif glob.has_magic(item) and not os.path.lexists(item):
            matches = sorted(m for m in glob.glob(item) if not Path(m).is_dir())
            if not matches:
                missing.append((item, "no file matches this pattern"))
            found.extend((m, None) for m in matches)
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
    if output == "-" and sources:
        raise ValueError("-o -: standard output takes one image; give a folder for several")

    jobs = []
    for source, folder in sources:
        if source == "-":
            problems.append(("-", "standard input can only be used alone"))
            continue
        path = Path(source)
        if output is not None:
            target, create = Path(output) / f"{path.stem}.{ext}", True
        elif folder is not None:
            target, create = folder.parent / f"{folder.name}-cut" / f"{path.stem}.{ext}", True
        else:
            target, create = _beside(path, ext), False
        jobs.append(Job(source, str(target), _fmt(target, ext), create_folder=create))
    return jobs, problems


def _is_folder(output: str) -> bool:
    return output.endswith(("/", "\\")) or Path(output).is_dir()


def _beside(path: Path, ext: str) -> Path:
    return path.with_name(f"{path.stem}{OUTPUT_TAG}.{ext}")


def _fmt(target, ext: str) -> str:
    return FORMATS[ext] if target == "-" else format_for(target, ext)


# How many photos a batch's summary names as the first to check by eye.
CHECK_FIRST = 5

# How many skipped outputs a batch's summary names: a resumed batch of 100,000 photos
# would otherwise print a line for each one finished before.
SKIPPED_LISTED = 20


class _Report(BatchReport):
    """What the user is told. One photo: each line as it happens. A batch: a progress bar,
    then at the end the summary, the skipped outputs and the failures, each once."""

    def __init__(self, batch: bool, quiet: bool) -> None:
        super().__init__(progress=batch and not quiet)
        self.batch = batch
        self.quiet = quiet

    def say(self, line: str) -> None:
        super().say(escape_text(line))

    def detail(self, text: str | None) -> None:
        """Print a traceback (``--debug``), each line escaped as the messages are."""
        if text:
            # In one piece, through the bar: it is redrawn once.
            super().say("\n".join(escape_text(line) for line in text.rstrip("\n").split("\n")))

    def fail(
        self, name: str, problem: str, output: str | None = None, detail: str | None = None
    ) -> None:
        super().fail(name, problem, output, detail)
        if not self.batch:
            # One photo: the line names what the problem is about, the input or the output.
            problem = self.failed[-1][1]
            self.say(f"alphacut: error: {problem if output else f'{shown(name)}: {problem}'}")
            self.detail(detail)

    def skip(self, name: str, output: str, problem: str, why: str | None = None) -> None:
        super().skip(name, output, problem, why)
        if not self.batch:
            self.say(f"alphacut: error: {display(output)}: {problem}")

    def warn(self, name: str, message: str) -> None:
        super().warn(name, message)
        if not self.batch:
            self.say(f"alphacut: warning: {shown(name)}: {message}")

    def done(self, name: str, output: str, line: str, notes: list[str]) -> None:
        super().done(name, output, line, notes)
        if self.quiet or self.batch:
            return
        self.say(line)
        for note in notes:
            self.say(f"  {note}")

    def model(self, where: str) -> None:
        super().model(where)
        if self.batch and not self.quiet:
            # A batch says where the model runs once, before the progress bar.
            self.say(f"alphacut: model {where}")

    def finish(self, written: int, total: int) -> int:
        """Print the batch's summary; the exit status."""
        self.close()
        if self.batch:
            self._summary(written, total)
        return 1 if self.failed or self.skipped else 0

    def _summary(self, written: int, total: int) -> None:
        if not self.quiet:
            self.say(f"alphacut: {written} of {total} written")
            worst = sorted(self.uncertain, reverse=True)[:CHECK_FIRST]
            if len(self.uncertain) > 1 and worst[0][0] > 0:
                listed = ", ".join(f"{shown(n)}{w} ({share:.0%})" for share, n, w in worst)
                self.say(f"alphacut: edges to check first (outline unsure): {listed}")
        for message, names in self.warned.items():
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            self.say(f"alphacut: warning: {shown(names[0])}{more}: {message}")
        if self.skipped:
            self.say(
                f"alphacut: {len(self.skipped)} skipped, their outputs already exist "
                "(use --overwrite to replace them):"
            )
            for output, why in self.skipped[:SKIPPED_LISTED]:
                self.say(f"  {display(output)}" + (f" ({why})" if why else ""))
            if len(self.skipped) > SKIPPED_LISTED:
                self.say(f"  ... and {len(self.skipped) - SKIPPED_LISTED} more")
        if self.failed:
            self.say(f"alphacut: {len(self.failed)} failed:")
            for name, problem, detail in self.failed:
                self.say(f"  {shown(name)}: {problem}")
                self.detail(detail)


def _usage_error(
    parser: argparse.ArgumentParser, args: argparse.Namespace, message: str, error: BaseException
) -> NoReturn:
    """Exit 2 with ``message``, as ``parser.error`` does; with ``--debug``, then the
    traceback of the ``error`` it came from."""
    try:
        parser.error(message)
    finally:
        print_traceback(error, args)


# --- The command ---------------------------------------------------------------------------


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings outside a photo's work (loading the model, ...): one line of ours, not
    Python's two (the second being the library's source line)."""
    if not issubclass(category, DEVELOPER_WARNINGS):
        text = first_line(message) if isinstance(message, Warning) else str(message)
        print(escape_text(f"alphacut: warning: {text}"), file=sys.stderr)


def run_cutout(argv: list[str]) -> int:
    """Entry of ``alphacut INPUT...``; returns the exit status."""
    with warnings.catch_warnings():  # restores Python's own display afterwards
        warnings.showwarning = _show_warning
        return _run(argv)


class _Stop(Exception):
    """The run ends with ``status``, its line already printed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    recipe = _recipe(parser, args)
    jobs, problems = _planned(parser, args)
    scheduler = _scheduler(parser, args, jobs)
    try:
        recipe.background = _background(parser, args)
        with _dask_logs_quiet(args, scheduler), _connected(parser, args, scheduler) as client:
            return _run_batch(parser, args, recipe, jobs, problems, client)
    except _Stop as stop:
        return stop.status


def _run_batch(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    recipe: Recipe,
    jobs: list[Job],
    problems: list[tuple[str, str]],
    client: Any,
) -> int:
    """Check, cut out and report; the exit status."""
    total = len(jobs) + len(problems)
    report = _Report(batch=total > 1, quiet=args.quiet)
    for name, problem in problems:
        report.fail(name, problem)
    try:
        written = run_batch(jobs, recipe, report, workers=args.jobs, client=client)
    except ModelUnavailable as error:
        cause = error.__cause__ or error
        if error.usage:
            _usage_error(parser, args, str(error), cause)
        print(escape_text(f"alphacut: error: {error}"), file=sys.stderr)
        print_traceback(cause, args)
        report.finish(0, total)  # what was found wrong before
        return 1
    return report.finish(written, total)


def _recipe(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Recipe:
    """What every photo is cut out with, from the command line; usage errors exit 2."""
    from alphacut.cli.models import model_from_args

    try:
        model = model_from_args(args)
    except (ValueError, UnknownModelError, FileNotFoundError) as error:
        _usage_error(parser, args, str(error).strip("'\""), error)
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
    refine_options = dict(
        matting=args.matting,
        solver=args.solver,
        band=args.band,
        feather_sigma=args.feather,
        decontaminate=args.decontaminate,
    )
    refine_options = {k: v for k, v in refine_options.items() if v is not None}
    if refine_options and args.refine is False:
        parser.error("--no-refine cannot be combined with --band/--feather/--no-matting/...")
    if args.model and args.model.endswith(".onnx") and not Path(args.model).is_file():
        parser.error(f"--model {args.model}: no such file")
    return Recipe(
        options={**options, **refine_options},
        mask_only=args.mask_only,
        bg_color=args.bg_color,
        overwrite=args.overwrite,
        debug=debugging(args),
    )


def _planned(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[list[Job], list[tuple[str, str]]]:
    """The jobs and the inputs that matched nothing; usage errors exit 2."""
    try:
        jobs, problems = _plan(args)
    except ValueError as error:
        _usage_error(parser, args, str(error), error)
    if args.output and (len(jobs) > 1 or (jobs and _is_folder(args.output))):
        out = Path(args.output)
        if os.path.lexists(out) and not out.is_dir():
            parser.error(f"-o {args.output}: several inputs need a folder, this is a file")
        problem = folder_problem(out, create=True)
        if problem is not None:
            parser.error(f"-o {args.output}: {problem}")
    return jobs, problems


def _scheduler(parser: argparse.ArgumentParser, args: argparse.Namespace, jobs: list[Job]):
    """The Dask scheduler's address, if the batch runs on a cluster: ``--scheduler``, else
    ``$ALPHACUT_SCHEDULER`` unless ``--jobs`` asks for a local batch."""
    address = args.scheduler
    if address and args.jobs is not None:
        parser.error("--jobs is for a batch on this machine; a cluster's workers take turns")
    if address is None and args.jobs is None:
        address = os.environ.get("ALPHACUT_SCHEDULER", "").strip() or None
    if address and any(job.target == "-" for job in jobs):
        parser.error("-o -: the cluster's workers write the outputs; give a file or a folder")
    return address


def _background(parser: argparse.ArgumentParser, args: argparse.Namespace) -> np.ndarray | None:
    """The ``--bg-image``, read once; an unreadable one ends the run with status 2."""
    if args.bg_image is None:
        return None
    try:
        if probe_image(args.bg_image).frames > 1:
            parser.error(f"--bg-image {args.bg_image}: an animation; give a single image")
        return read_image(args.bg_image)
    except ImageReadError as error:
        print(escape_text(f"alphacut: error: background image {error}"), file=sys.stderr)
        print_traceback(error, args)
        raise _Stop(2) from error


@contextmanager
def _connected(
    parser: argparse.ArgumentParser, args: argparse.Namespace, address: str | None
) -> Iterator[Any]:
    """A client of the scheduler at ``address`` (None without one), closed afterwards;
    without dask.distributed a usage error, an unreachable scheduler one line and status
    1."""
    if address is None:
        yield None
        return
    from alphacut.batch.cluster import connect

    try:
        client = connect(address)
    except ImportError as error:
        _usage_error(parser, args, f"--scheduler: {error}", error)
    except OSError as error:
        print(escape_text(f"alphacut: error: {error}"), file=sys.stderr)
        print_traceback(error, args)
        raise _Stop(1) from error
    try:
        yield client
    finally:
        client.close()


@contextmanager
def _dask_logs_quiet(args: argparse.Namespace, address: str | None) -> Iterator[None]:
    """What goes wrong on a cluster reaches the user as our one-line messages; Dask's own
    log would repeat it with tracebacks (a lost scheduler, say). ``--debug`` keeps it."""
    if address is None or debugging(args):
        yield
        return
    import logging

    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
