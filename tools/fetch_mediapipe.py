"""Fetch MediaPipe's selfie segmentation ``.tflite`` models from the pinned PyPI wheel.

The wheel is downloaded with ``pip download`` (never installed) into a cache directory,
checked against a pinned sha256, and the two model files are extracted next to it and
checked too. The cache is ``$ALPHACUT_MEDIAPIPE_CACHE``, by default
``~/.cache/alphacut/mediapipe``.

Examples
--------
::

    python tools/fetch_mediapipe.py            # prints the two .tflite paths
    python tools/fetch_mediapipe.py --no-download   # use only what is already cached
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.14"
WHEEL_NAME = (
    f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
)
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
MEMBER_DIR = "mediapipe/modules/selfie_segmentation"
MODELS = {
    "selfie_segmentation": "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    "selfie_segmentation_landscape": (
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"
    ),
}


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


def fetch(directory: str | Path | None = None, *, download: bool = True) -> dict[str, Path]:
    """Make sure both selfie segmentation models are in the cache and verified.

    Parameters
    ----------
    directory : str or Path, optional
        Cache directory; defaults to :func:`cache_dir`.
    download : bool, optional
        Allow ``pip download`` of the ~36 MB wheel when it is not cached.

    Returns
    -------
    dict of str to Path
        Model stem (``"selfie_segmentation"``, ``"selfie_segmentation_landscape"``)
        to its verified ``.tflite`` path.

    Raises
    ------
    FetchError
        If the files are missing and cannot be downloaded, or a checksum differs.
    """
    directory = Path(directory) if directory is not None else cache_dir()
    paths = {stem: directory / f"{stem}.tflite" for stem in MODELS}
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
            data = archive.read(f"{MEMBER_DIR}/{stem}.tflite")
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
    args = parser.parse_args(argv)
    try:
        paths = fetch(args.cache, download=not args.no_download)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in paths.values():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
