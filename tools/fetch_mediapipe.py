"""Fetch MediaPipe's selfie segmentation and detector ``.tflite`` models from the pinned wheel.

The wheel is downloaded with ``pip download`` (never installed) into a cache directory,
checked against a pinned sha256, and the model files (the two selfie segmentation
models, the full-range face detector and the pose detector) are extracted next to it
and checked too. The cache is ``$ALPHACUT_MEDIAPIPE_CACHE``, by default
``~/.cache/alphacut/mediapipe``.

Examples
--------
::

    python tools/fetch_mediapipe.py            # prints the four .tflite paths
    python tools/fetch_mediapipe.py --no-download   # use only what is already cached
    python tools/fetch_mediapipe.py --model pose_detection   # just one model
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.14"
WHEEL_NAME = (
    f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
)
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
# Model stem (also the cached file's name) -> pinned sha256 of the extracted file.
MODELS = {
    "selfie_segmentation": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    "selfie_segmentation_landscape": (
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"
    ),
    "face_detection_full_range_sparse": (
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"
    ),
    "pose_detection": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
}
# Folder of each model inside the wheel.
MEMBER_DIRS = {
    "selfie_segmentation": "mediapipe/modules/selfie_segmentation",
    "selfie_segmentation_landscape": "mediapipe/modules/selfie_segmentation",
    "face_detection_full_range_sparse": "mediapipe/modules/face_detection",
    "pose_detection": "mediapipe/modules/pose_detection",
}
SEGMENTATION_MODELS = ("selfie_segmentation", "selfie_segmentation_landscape")
DETECTION_MODELS = ("face_detection_full_range_sparse", "pose_detection")


class FetchError(RuntimeError):
    """The wheel or a model is unavailable or fails its checksum."""


def cache_dir() -> Path:
    """Return the cache directory (``$ALPHACUT_MEDIAPIPE_CACHE`` or the default).

    Returns
    -------
    Path
        Directory that holds the wheel and the extracted models.
    """
    env = os.environ.get("ALPHACUT_MEDIAPIPE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache/alphacut/mediapipe"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_wheel(directory: Path) -> None:
    # The wheel is for a fixed interpreter/platform so the pinned hash holds whatever
    # machine runs this; --no-deps avoids pulling mediapipe's heavy dependency tree.
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", f"mediapipe=={MEDIAPIPE_VERSION}",
        "--python-version", "3.11", "--platform", "manylinux_2_17_x86_64",
        "--only-binary=:all:", "-d", str(directory),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FetchError(f"pip download failed:\n{result.stdout}\n{result.stderr}")


def fetch(
    directory: str | Path | None = None,
    *,
    download: bool = True,
    models: Iterable[str] | None = None,
) -> dict[str, Path]:
    """Make sure the requested models are in the cache and verified.

    Parameters
    ----------
    directory : str or Path, optional
        Cache directory; defaults to :func:`cache_dir`.
    download : bool, optional
        Allow ``pip download`` of the ~36 MB wheel when it is not cached.
    models : iterable of str, optional
        Stems to fetch (keys of :data:`MODELS`); all of them by default. Asking only
        for what is needed lets an older cache that lacks the others still serve.

    Returns
    -------
    dict of str to Path
        Model stem (e.g. ``"selfie_segmentation"``, ``"pose_detection"``) to its
        verified ``.tflite`` path.

    Raises
    ------
    FetchError
        If the files are missing and cannot be downloaded, or a checksum differs.
    ValueError
        If a requested stem is unknown.
    """
    directory = Path(directory) if directory is not None else cache_dir()
    stems = list(MODELS) if models is None else list(models)
    unknown = sorted(set(stems) - set(MODELS))
    if unknown:
        raise ValueError(f"unknown models {unknown}; known: {sorted(MODELS)}")
    paths = {stem: directory / f"{stem}.tflite" for stem in stems}
    if all(p.is_file() and _sha256(p) == MODELS[s] for s, p in paths.items()):
        return paths

    wheel = directory / WHEEL_NAME
    if not wheel.is_file():
        if not download:
            raise FetchError(f"{wheel} is not cached and downloading is disabled")
        directory.mkdir(parents=True, exist_ok=True)
        _download_wheel(directory)
    if _sha256(wheel) != WHEEL_SHA256:
        raise FetchError(f"{wheel} does not match the pinned sha256 {WHEEL_SHA256}")

    with zipfile.ZipFile(wheel) as archive:
        for stem, path in paths.items():
            data = archive.read(f"{MEMBER_DIRS[stem]}/{stem}.tflite")
            if hashlib.sha256(data).hexdigest() != MODELS[stem]:
                raise FetchError(f"{stem}.tflite in {wheel.name} has an unexpected sha256")
            # Write then rename so an interrupted run never leaves a truncated model.
            tmp = path.with_suffix(".tflite.part")
            tmp.write_bytes(data)
            tmp.replace(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints the verified model paths.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        Process exit status (1 on a fetch error).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="cache directory")
    parser.add_argument("--no-download", action="store_true", help="use only cached files")
    parser.add_argument(
        "--model",
        action="append",
        choices=sorted(MODELS),
        help="fetch only this model (repeatable); default: all",
    )
    args = parser.parse_args(argv)
    try:
        paths = fetch(args.cache, download=not args.no_download, models=args.model)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in paths.values():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
