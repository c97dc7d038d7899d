"""``alphacut INPUT... [-o OUTPUT]``: cut the subject out of photos, one or many.

The run has three stages, so that nothing is computed for a photo whose result could not
be written: plan (inputs and output names), check (each input's header and frame count,
each output's path), then cut out what is left: in this process, or for a batch with
``--jobs`` above 1 in worker processes (:mod:`alphacut.cli._parallel`). Every message is
one line with names escaped; a batch reports its skipped and failed files once, at the end.
With ``--debug`` (or ``ALPHACUT_DEBUG=1``) each error's traceback follows its line.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import warnings
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from alphacut.api import METHODS, remove_background
from alphacut.cli import DEBUG_HELP, debugging, format_traceback, print_traceback
from alphacut.compose import composite, cutout, mask_image, parse_color
from alphacut.io import (
    ImageReadError,
    ImageReadWarning,
    ImageWriteError,
    check_output,
    encode_image,
    probe_image,
    probe_image_bytes,
    read_frames,
    read_frames_bytes,
    read_image,
    write_image,
)
from alphacut.io.paths import display, escape_text, folder_problem
from alphacut.io.write import FORMATS, format_for
from alphacut.models.specs import UnknownModelError

if TYPE_CHECKING:
    from alphacut.cli._parallel import Recorder
    from alphacut.models import LoadedModel

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
  animations    -> every frame of an animated GIF, WebP or PNG and every page of a TIFF
                   is cut out, to numbered files: anim.gif -> anim-001.cut.png,
                   anim-002.cut.png, ... (-o out.png -> out-001.png, ...)
  existing outputs are never replaced without --overwrite: a batch skips them before any
  work, so rerunning it finishes what is missing; an input is never overwritten; outputs
  are only regular files (a folder, pipe or device in the way is refused); each output
  appears whole or not at all, even when interrupted
  a file name that starts with '-': put -- before it (alphacut -- -photo.jpg)

other commands:
  alphacut demo              cut out a sample photo shipped with the package
  alphacut models ...        list, download, locate and verify models
  alphacut gimp install      install the GIMP 3 plug-in

exit status: 0 all written, 1 some file failed or was skipped (listed at the end),
  2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)
"""

# Warnings meant for developers, not for someone cutting out photos.
_DEVELOPER_WARNINGS = (
    DeprecationWarning,
    PendingDeprecationWarning,
    FutureWarning,
    ImportWarning,
    ResourceWarning,
)


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


@dataclass
class Job:
    """One input and where its result goes.

    Attributes
    ----------
    source : str
        A path, or "-" for standard input.
    target : str
        A path, or "-" for standard output; for an animation, the name its numbered
        frame outputs are made from.
    fmt : str
        PIL's format name of the output.
    create_folder : bool
        Whether the output's folder is made when missing (``-o`` folders, ``<folder>-cut``).
    outputs : list of str
        One output per frame, known once the input's header was read.
    todo : list of int
        The frames still to cut out: those whose output may be written.
    data : bytes or None
        Standard input, read once.
    """

    source: str
    target: str
    fmt: str
    create_folder: bool = False
    outputs: list[str] = field(default_factory=list)
    todo: list[int] = field(default_factory=list)
    data: bytes | None = None


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


def frame_outputs(target: str, count: int) -> list[str]:
    """Numbered outputs for the ``count`` frames of an animation written to ``target``.

    The number goes before the ``.cut`` tag, so that a folder scan still skips them.

    Examples
    --------
    >>> frame_outputs("anim.cut.png", 2)
    ['anim-001.cut.png', 'anim-002.cut.png']
    >>> frame_outputs("out/anim.webp", 1)
    ['out/anim.webp']
    """
    if count == 1:
        return [target]
    path = Path(target)
    suffix = "".join(path.suffixes[-2:]) if path.suffixes[-2:-1] == [OUTPUT_TAG] else path.suffix
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    digits = max(3, len(str(count)))
    return [str(path.with_name(f"{stem}-{k:0{digits}d}{suffix}")) for k in range(1, count + 1)]


def _shown(source: str) -> str:
    """An input as messages name it: standard input is "<stdin>", as in its read errors."""
    return "<stdin>" if source == "-" else display(source)


# How many photos a batch's summary names as the first to check by eye.
CHECK_FIRST = 5


class _Report:
    """What the user is told. One photo: each line as it happens. A batch: a progress bar,
    then at the end the summary, the skipped outputs and the failures, each once."""

    def __init__(self, batch: bool, quiet: bool) -> None:
        self.batch = batch
        self.quiet = quiet
        self.failed: list[tuple[str, str, str | None]] = []  # (name, problem, traceback)
        self.skipped: list[str] = []
        self.warned: dict[str, list[str]] = {}
        self.uncertain: list[tuple[float, str]] = []  # (share, the photo as shown)
        self.bar: Any = None

    def say(self, line: str) -> None:
        line = escape_text(line)
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def fail(
        self, name: str, problem: str, output: str | None = None, detail: str | None = None
    ) -> None:
        """Report input ``name``'s failure; ``output`` when the problem is its output's;
        ``detail``: the traceback (``--debug``), printed after the failure's line."""
        if output is not None:
            problem = f"{display(output)}: {problem}"
        self.failed.append((name, problem, detail))
        if self.bar is not None:
            self.bar.set_postfix(failed=len(self.failed), refresh=False)
        if not self.batch:
            # One photo: the line names what the problem is about, the input or the output.
            self.say(f"alphacut: error: {problem if output else f'{_shown(name)}: {problem}'}")
            self.detail(detail)

    def detail(self, text: str | None) -> None:
        """Print a traceback (``--debug``), each line escaped as the messages are."""
        if not text:
            return
        text = "\n".join(escape_text(line) for line in text.rstrip("\n").split("\n"))
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)  # at once: the bar is redrawn once
        else:
            print(text, file=sys.stderr)

    def failing(self, more: int) -> None:
        """Show ``more`` failures on the bar than are listed yet: a parallel batch lists
        its photos' failures at the end, in input order."""
        if self.bar is not None:
            self.bar.set_postfix(failed=len(self.failed) + more, refresh=False)

    def skip(self, output: str, problem: str) -> None:
        self.skipped.append(output)
        if not self.batch:
            self.say(f"alphacut: error: {display(output)}: {problem}")

    def warn(self, name: str, message: str) -> None:
        if not self.batch:
            self.say(f"alphacut: warning: {_shown(name)}: {message}")
        elif name not in self.warned.setdefault(message, []):
            self.warned[message].append(name)

    def done(self, line: str, notes: list[str]) -> None:
        if self.quiet or self.batch:
            return
        self.say(line)
        for note in notes:
            self.say(f"  {note}")

    def edge(self, name: str, share: float | None, which: str = "") -> None:
        """Note an outline's unsure share; ``which`` tells frames of one file apart."""
        if share is not None:
            self.uncertain.append((share, f"{_shown(name)}{which}"))

    def progress(self, total: int) -> None:
        if self.batch and not self.quiet and total > 1:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="photo", desc="alphacut", file=sys.stderr)

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def finish(self, written: int, total: int) -> int:
        """Print the batch's summary; the exit status."""
        self.close()
        if self.batch:
            if not self.quiet:
                self.say(f"alphacut: {written} of {total} written")
                worst = sorted(self.uncertain, reverse=True)[:CHECK_FIRST]
                if len(self.uncertain) > 1 and worst[0][0] > 0:
                    listed = ", ".join(f"{shown} ({share:.0%})" for share, shown in worst)
                    self.say(f"alphacut: edges to check first (outline unsure): {listed}")
            for message, names in self.warned.items():
                more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
                self.say(f"alphacut: warning: {_shown(names[0])}{more}: {message}")
            if self.skipped:
                self.say(
                    f"alphacut: {len(self.skipped)} skipped, their outputs already exist "
                    "(use --overwrite to replace them):"
                )
                for output in self.skipped:
                    self.say(f"  {display(output)}")
            if self.failed:
                self.say(f"alphacut: {len(self.failed)} failed:")
                for name, problem, detail in self.failed:
                    self.say(f"  {_shown(name)}: {problem}")
                    self.detail(detail)
        return 1 if self.failed or self.skipped else 0


def _detail(args: argparse.Namespace, error: BaseException) -> str | None:
    """``error``'s traceback when the run has ``--debug``; as text, so that a worker
    process can send it to the parent."""
    return format_traceback(error) if debugging(args) else None


def _usage_error(
    parser: argparse.ArgumentParser, args: argparse.Namespace, message: str, error: BaseException
) -> NoReturn:
    """Exit 2 with ``message``, as ``parser.error`` does; with ``--debug``, then the
    traceback of the ``error`` it came from."""
    try:
        parser.error(message)
    finally:
        print_traceback(error, args)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().strip("'\"")
    return text.splitlines()[0] if text else type(error).__name__


def _user_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """The caught warnings worth a line to the user, one line each, without repeats."""
    lines: list[str] = []
    for record in caught:
        if issubclass(record.category, _DEVELOPER_WARNINGS):
            continue
        message = record.message
        if isinstance(message, ImageReadWarning):
            text = message.problem
        else:
            text = _first_line(message) if isinstance(message, Warning) else str(message)
        if text not in lines:
            lines.append(text)
    return lines


def _check(jobs: list[Job], args: argparse.Namespace, report: _Report) -> list[Job]:
    """Read each input's header and check each output, before any work: the jobs that
    have something left to do."""
    protect = tuple(job.source for job in jobs if job.source != "-")
    claimed: dict[str, str] = {}
    ready = []
    for job in jobs:
        try:
            with warnings.catch_warnings():
                # Reading the pixels later says the same once, in the file's own lines.
                warnings.simplefilter("ignore")
                if job.source == "-":
                    job.data = sys.stdin.buffer.read()
                    info = probe_image_bytes(job.data)
                else:
                    info = probe_image(job.source)
        except ImageReadError as error:
            report.fail(job.source, error.problem, detail=_detail(args, error))
            continue
        if job.target == "-" and info.frames > 1:
            report.fail(
                job.source,
                f"has {info.frames} frames and standard output takes one image: give "
                "-o NAME.png to write them as numbered files",
            )
            continue
        job.outputs = frame_outputs(job.target, info.frames)
        failed = False
        for index, output in enumerate(job.outputs):
            if output == "-":
                job.todo.append(index)
                continue
            key = os.path.normcase(os.path.abspath(output))
            if key in claimed:
                other = display(claimed[key])
                report.fail(job.source, f"same output name as {other} ({display(output)})")
                failed = True
                break
            claimed[key] = job.source
            try:
                check_output(
                    output,
                    overwrite=args.overwrite,
                    protect=protect,
                    create_folder=job.create_folder,
                )
            except ImageWriteError as error:
                if error.problem.startswith("already exists"):
                    report.skip(output, error.problem)
                    continue
                report.fail(job.source, error.problem, output=output, detail=_detail(args, error))
                failed = True
                break
            job.todo.append(index)
        if job.todo and not failed:
            ready.append(job)
    return ready


def _render(matte, args, background) -> np.ndarray:
    if args.mask_only:
        return mask_image(matte.alpha)
    if background is not None:
        return composite(matte.foreground, matte.alpha, background)
    if args.bg_color is not None:
        return composite(matte.foreground, matte.alpha, args.bg_color)
    return cutout(matte.foreground, matte.alpha)


def _frames(job: Job) -> Generator[np.ndarray, None, None]:
    if job.data is not None:
        return read_frames_bytes(job.data)
    return read_frames(job.source)


def _write(job: Job, output: str, result: np.ndarray, args, protect: tuple[str, ...]) -> None:
    flatten = args.bg_color or (255, 255, 255)
    if output == "-":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the user asked for JPEG explicitly
            data = encode_image(result, job.fmt, flatten_color=flatten)
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # The reader left (e.g. `| head`): no traceback now, nor at exit's flush.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise ImageWriteError(
                "-", "standard output was closed before the image was written"
            ) from None
        return
    folder = Path(output).parent
    if job.create_folder and not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = folder_problem(folder, create=True) or error.strerror or str(error)
            raise ImageWriteError(output, f"cannot make its folder ({problem})") from None
    write_image(
        output,
        result,
        fmt=job.fmt,
        overwrite=args.overwrite,
        protect=protect,
        flatten_color=flatten,
    )


def _describe(matte) -> str:
    return f"{matte.method} on {matte.provider}" if matte.provider else matte.method


def _cut_out(
    job: Job, args, options: dict, background, protect, report: _Report | Recorder
) -> bool:
    """Cut out every frame of ``job`` that is to do; whether all went well.

    ``report`` is the batch's, or in a worker process a :class:`Recorder` of what to tell
    the parent's.
    """
    frames = len(job.outputs)
    noted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with closing(_frames(job)) as frames_read:
                for index, image in enumerate(frames_read):
                    if index not in job.todo:
                        continue
                    start = time.perf_counter()
                    matte = remove_background(image, **options)
                    output = job.outputs[index]
                    _write(job, output, _render(matte, args, background), args, protect)
                    report.step()
                    seconds = time.perf_counter() - start
                    where = "standard output" if output == "-" else display(output)
                    which = f" [frame {index + 1} of {frames}]" if frames > 1 else ""
                    line = f"{_shown(job.source)}{which} -> {where}"
                    report.edge(job.source, matte.edge_uncertainty, which)
                    unsure = matte.edge_uncertainty
                    edge = f", outline {unsure:.0%} unsure" if unsure is not None else ""
                    report.done(
                        f"{line} ({_describe(matte)}, {seconds:.2f} s{edge})",
                        [] if noted else matte.notes,
                    )
                    noted = True
        except ImageReadError as error:
            report.fail(job.source, error.problem, detail=_detail(args, error))
            return False
        except ImageWriteError as error:
            output = None if error.target == "-" else error.target
            report.fail(job.source, error.problem, output=output, detail=_detail(args, error))
            return False
        except MemoryError as error:
            problem = "not enough memory to cut out this image"
            report.fail(job.source, problem, detail=_detail(args, error))
            return False
        except Exception as error:  # noqa: BLE001 - one photo's failure must not stop a batch
            report.fail(job.source, escape_text(_first_line(error)), detail=_detail(args, error))
            return False
    for message in _user_warnings(caught):
        report.warn(job.source, message)
    return True


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings outside a photo's work (loading the model, ...): one line of ours, not
    Python's two (the second being the library's source line)."""
    if not issubclass(category, _DEVELOPER_WARNINGS):
        text = _first_line(message) if isinstance(message, Warning) else str(message)
        print(escape_text(f"alphacut: warning: {text}"), file=sys.stderr)


def run_cutout(argv: list[str]) -> int:
    """Entry of ``alphacut INPUT...``; returns the exit status."""
    with warnings.catch_warnings():  # restores Python's own display afterwards
        warnings.showwarning = _show_warning
        return _run(argv)


def _run(argv: list[str]) -> int:
    from alphacut.api import choose_model
    from alphacut.cli.models import model_from_args
    from alphacut.models import load_model

    parser = build_parser()
    args = parser.parse_args(argv)
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
    refine_options = {
        k: v
        for k, v in dict(
            matting=args.matting,
            solver=args.solver,
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
    background = None
    if args.bg_image is not None:
        try:
            if probe_image(args.bg_image).frames > 1:
                parser.error(f"--bg-image {args.bg_image}: an animation; give a single image")
            background = read_image(args.bg_image)
        except ImageReadError as error:
            print(escape_text(f"alphacut: error: background image {error}"), file=sys.stderr)
            print_traceback(error, args)
            return 2

    report = _Report(batch=len(jobs) + len(problems) > 1, quiet=args.quiet)
    for name, problem in problems:
        report.fail(name, problem)
    ready = _check(jobs, args, report)
    loaded = None
    preload = None
    if ready and args.method in ("auto", "neural"):
        # Load (and on first use download) once, up front: a missing or corrupt model is
        # one error, not one per photo, and the user learns where it runs before waiting.
        try:
            # The same choice remove_background makes; its session is then reused.
            preload = choose_model(model)[0]
            loaded = load_model(preload, device=args.device)
        except ValueError as error:
            _usage_error(parser, args, str(error), error)
        except (UnknownModelError, RuntimeError, OSError) as error:
            print(escape_text(f"alphacut: error: {_first_line(error)}"), file=sys.stderr)
            print_traceback(error, args)
            report.finish(0, len(jobs) + len(problems))  # what was found wrong before
            return 1
    workers = min(_jobs_wanted(args.jobs, loaded), len(ready))
    threads = 0
    if workers > 1:
        from alphacut.cli._parallel import threads_per_job

        threads = threads_per_job(workers)
    if loaded is not None:
        if report.batch and not args.quiet:
            # A batch reports where the model runs once, before the progress bar.
            where = loaded.describe()
            if workers > 1:
                where = f"{replace(loaded, threads=threads).describe()} in each of {workers} jobs"
            print(escape_text(f"alphacut: model {where}"), file=sys.stderr)
        if workers > 1:
            # Each worker loads its own: this process's copy would only hold memory.
            from alphacut.models import clear_cache

            loaded = None
            clear_cache()

    protect = tuple(job.source for job in jobs if job.source != "-")
    options = {**options, **refine_options}
    written = 0
    report.progress(sum(len(job.todo) for job in ready))
    try:
        if workers > 1:
            from alphacut.cli._parallel import Shared, cut_out_in_parallel

            shared = Shared(args, options, background, protect, preload)
            written = cut_out_in_parallel(ready, workers, threads, shared, report)
        else:
            for job in ready:
                written += _cut_out(job, args, options, background, protect, report)
    finally:
        report.close()  # an interruption must not leave the bar half drawn
    return report.finish(written, len(jobs) + len(problems))


def _jobs_wanted(jobs: int | None, loaded: LoadedModel | None) -> int:
    """``--jobs``, else the CPU cores; else 1 when the model runs on a GPU, where each
    worker's session would take its own share of the GPU's memory."""
    if jobs is not None:
        return jobs
    if loaded is not None and loaded.provider != "CPUExecutionProvider":
        return 1
    from alphacut.cli._parallel import usable_cpus

    return usable_cpus()
