"""Model files on demand: downloaded once into a cache, verified, then reused.

The cache is ``$ALPHACUT_HOME/models`` when ``ALPHACUT_HOME`` is set, else
``platformdirs.user_cache_dir("alphacut")/models``. A download goes through
:func:`pooch.retrieve` with a resumable downloader: bytes accumulate in ``<file>.part``
(an interrupted download continues where it stopped, on the next try or the next run),
every pinned checksum is checked on the complete file, and only then is it moved into
place. A file whose checksum does not match is deleted, never loaded; a cached file that
no longer matches is refused (:class:`ChecksumError`) until it is downloaded again.

``ALPHACUT_MODEL_MIRROR`` (a URL or a folder) is tried before the published URLs, for
machines that reach the internet only through a local copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.client import HTTPException
from pathlib import Path

import platformdirs

from alphacut.models.specs import MODEL_SPECS, ModelSpec

__all__ = [
    "ChecksumError",
    "ModelDownloadError",
    "VerifyResult",
    "cache_dir",
    "cached_path",
    "fetch",
    "file_checksums",
    "format_size",
    "is_cached",
    "partial_path",
    "remove_cached",
    "verify_cached",
    "verify_file",
]

# Attempts per URL for failures that may pass (timeouts, dropped connections, HTTP 5xx);
# each attempt resumes from the bytes already received.
RETRIES = 4
RETRY_DELAY_S = 1.0
TIMEOUT_S = 30.0
CHUNK_BYTES = 1 << 20

# (path, pinned checksums) -> (size, mtime) of the file when it last verified.
_verified: dict[tuple[str, tuple], tuple[int, int]] = {}
_verified_lock = threading.Lock()


class ModelDownloadError(RuntimeError):
    """A model file could not be downloaded; the message says how to place it by hand."""


class ChecksumError(ModelDownloadError):
    """A model file's checksum does not match the pinned one; the file is not used."""


class _Transient(Exception):
    """A failure worth retrying (timeout, dropped connection, HTTP 5xx)."""


class _Permanent(Exception):
    """A failure that retrying the same URL will not fix (no route, HTTP 404, ...)."""


def cache_dir() -> Path:
    """Folder of downloaded models: ``$ALPHACUT_HOME/models`` or the user cache's."""
    home = os.environ.get("ALPHACUT_HOME")
    base = Path(home).expanduser() if home else Path(platformdirs.user_cache_dir("alphacut"))
    return base / "models"


def cached_path(spec: ModelSpec) -> Path:
    """Where ``spec``'s file is or will be (embedded, an explicit location, or the cache)."""
    if spec.embedded:
        return spec.embedded_path
    if spec.location is not None:
        return Path(spec.location)
    return cache_dir() / spec.file


def partial_path(spec: ModelSpec) -> Path:
    """The ``.part`` file an unfinished download of ``spec`` resumes from."""
    path = cached_path(spec)
    return path.with_name(path.name + ".part")


def is_cached(spec: ModelSpec) -> bool:
    """Whether ``spec``'s file is present (not whether it verifies)."""
    return cached_path(spec).is_file()


def remove_cached(spec: ModelSpec) -> bool:
    """Delete ``spec``'s cached file and partial download; whether anything was removed."""
    if spec.embedded or spec.location is not None:
        raise ValueError(f"model {spec.name!r} is not in the download cache")
    removed = False
    for path in (cached_path(spec), partial_path(spec)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed = True
    with _verified_lock:
        _verified.pop(_memo_key(spec, cached_path(spec)), None)
    return removed


def format_size(size: int | None) -> str:
    """``175997641`` → ``"176 MB"`` (decimal units, as download sizes are quoted)."""
    if size is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"


def file_checksums(path: str | os.PathLike, algorithms: tuple[str, ...] = ("sha256",)) -> dict:
    """Hex digests of a file for each of ``algorithms``, reading it once."""
    digests = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK_BYTES):
            for digest in digests.values():
                digest.update(block)
    return {name: digest.hexdigest() for name, digest in digests.items()}


def verify_file(spec: ModelSpec, path: str | os.PathLike | None = None) -> None:
    """Check every checksum pinned in ``spec`` against the file; raise on a mismatch.

    Raises
    ------
    ChecksumError
        Naming the file, the expected and the actual checksum.
    """
    path = Path(path) if path is not None else cached_path(spec)
    expected = spec.checksums
    actual = file_checksums(path, tuple(expected))
    for algorithm, want in expected.items():
        if actual[algorithm] != want:
            raise ChecksumError(
                f"checksum mismatch for model {spec.name!r}: {path} has {algorithm} "
                f"{actual[algorithm]}, expected {want}; the file was not loaded"
                + _redownload_hint(spec, path)
            )


def fetch(spec: ModelSpec, *, progress: bool = True) -> Path:
    """The verified local file of ``spec``, downloading it on first use.

    Parameters
    ----------
    spec : ModelSpec
        A row of the table, or any spec with ``urls`` and a pinned checksum.
    progress : bool
        Show a progress bar (on stderr) while downloading.

    Returns
    -------
    Path
        The model file; its pinned checksums were verified in this process.

    Raises
    ------
    ChecksumError
        The cached file, or every downloaded copy, has the wrong checksum (a downloaded
        copy is deleted; nothing is loaded).
    ModelDownloadError
        No URL could be downloaded; the message names the model, the URLs, and the path
        and command to put the file in place by hand.
    """
    path = cached_path(spec)
    if spec.embedded:
        return path
    if spec.location is not None:
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
        if spec.checksums:
            _verify_once(spec, path)
        return path
    if path.is_file():
        _verify_once(spec, path)
        return path
    if not spec.checksums:
        raise ModelDownloadError(
            f"model {spec.name!r} pins no checksum, so it is not downloaded; "
            f"place the file at {path} yourself or pass --model PATH.onnx"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(path):
        # Another process may have finished the same download while this one waited.
        if not path.is_file():
            _download(spec, path, progress)
            _remember(spec, path)
    _verify_once(spec, path)
    return path


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify_cached` found for one model."""

    name: str
    path: Path
    status: str  # "ok", "checksum mismatch", "not downloaded", "partial", "embedded"
    sha256: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "checksum mismatch"


def verify_cached(names: list[str] | None = None) -> list[VerifyResult]:
    """Re-hash every cached model file (or those of ``names``) against the table.

    Unlike loading, this always reads the files again, so it also finds a file damaged
    after it was first verified.
    """
    from alphacut.models.specs import get_spec

    specs = [get_spec(n) for n in names] if names else list(MODEL_SPECS.values())
    results = []
    for spec in specs:
        path = cached_path(spec)
        if spec.embedded:
            sha = file_checksums(path)["sha256"] if path.is_file() else None
            results.append(VerifyResult(spec.name, path, "embedded", sha))
            continue
        if not path.is_file():
            part = partial_path(spec)
            status = "partial" if part.is_file() else "not downloaded"
            detail = f"{part.stat().st_size} bytes in {part.name}" if part.is_file() else ""
            results.append(VerifyResult(spec.name, path, status, None, detail))
            continue
        actual = file_checksums(path, tuple({"sha256", *spec.checksums}))
        wrong = [a for a, want in spec.checksums.items() if actual[a] != want]
        if wrong:
            detail = "; ".join(f"{a} {actual[a]} != {spec.checksums[a]}" for a in wrong)
            results.append(
                VerifyResult(spec.name, path, "checksum mismatch", actual["sha256"], detail)
            )
        else:
            _remember(spec, path)
            results.append(VerifyResult(spec.name, path, "ok", actual["sha256"]))
    return results


def _verify_once(spec: ModelSpec, path: Path) -> None:
    # Hashing a 1 GB model costs seconds: once verified in this process, a file whose size
    # and modification time have not changed is not hashed again.
    stat = path.stat()
    with _verified_lock:
        if _verified.get(_memo_key(spec, path)) == (stat.st_size, stat.st_mtime_ns):
            return
    verify_file(spec, path)
    _remember(spec, path)


def _remember(spec: ModelSpec, path: Path) -> None:
    stat = path.stat()
    with _verified_lock:
        _verified[_memo_key(spec, path)] = (stat.st_size, stat.st_mtime_ns)


def _memo_key(spec: ModelSpec, path: Path) -> tuple[str, tuple]:
    return (str(path), tuple(spec.checksums.items()))


def _download(spec: ModelSpec, path: Path, progress: bool) -> None:
    import pooch

    algorithm, digest = next(iter(spec.checksums.items()))
    failures: list[str] = []
    checksum_failures: list[str] = []
    pooch_logger = pooch.get_logger()
    level = pooch_logger.level
    # pooch announces each download on its own logger; the progress line below says it.
    pooch_logger.setLevel(logging.WARNING)
    try:
        for url in _urls(spec):
            if progress:
                print(f"alphacut: downloading model {spec.name} ({url})", file=sys.stderr)
            try:
                pooch.retrieve(
                    url,
                    known_hash=f"{algorithm}:{digest}",
                    fname=path.name,
                    path=path.parent,
                    downloader=partial(_resumable_download, spec=spec, progress=progress),
                )
                return
            except ChecksumError as error:
                checksum_failures.append(str(error))
            except ValueError as error:  # pooch's own hash check (same pins: not expected)
                checksum_failures.append(f"checksum mismatch for model {spec.name!r}: {error}")
            except (_Permanent, _Transient) as error:
                failures.append(f"{url} ({error})")
    finally:
        pooch_logger.setLevel(level)
    if checksum_failures:
        raise ChecksumError(checksum_failures[-1])
    raise ModelDownloadError(
        f"cannot download model {spec.name!r} ({spec.file}"
        + (f", {format_size(spec.size_bytes)}" if spec.size_bytes else "")
        + f"): tried {', '.join(failures)}. Offline? Download it on another machine and put "
        f"it at {path}, e.g. `curl -L -o '{path}' '{spec.urls[0] if spec.urls else ''}'`, "
        f"or run `alphacut models download {spec.name}` once online"
    )


def _urls(spec: ModelSpec) -> list[str]:
    urls = list(spec.urls)
    mirror = os.environ.get("ALPHACUT_MODEL_MIRROR")
    if mirror:
        if "://" not in mirror:
            mirror = Path(mirror).expanduser().resolve().as_uri()
        urls.insert(0, f"{mirror.rstrip('/')}/{spec.file}")
    if not urls:
        raise ModelDownloadError(f"model {spec.name!r} has no download URL")
    return urls


def _resumable_download(url: str, output_file: str, _pooch: object, *, spec, progress) -> None:
    """pooch downloader: fill ``<file>.part`` (resuming), verify it, move it to pooch's
    temporary file (which pooch checks again and moves into place)."""
    part = partial_path(spec)
    for attempt in range(RETRIES):
        try:
            _stream(url, part, spec, progress)
            break
        except _Transient:
            if attempt == RETRIES - 1:
                raise
            time.sleep(RETRY_DELAY_S * 2**attempt)
    expected = spec.checksums
    actual = file_checksums(part, tuple(expected))
    for algorithm, want in expected.items():
        if actual[algorithm] != want:
            part.unlink()
            raise ChecksumError(
                f"checksum mismatch for model {spec.name!r}: the file downloaded from {url} "
                f"for {cached_path(spec)} has {algorithm} {actual[algorithm]}, expected "
                f"{want}; it was deleted, not loaded"
            )
    os.replace(part, output_file)


def _stream(url: str, part: Path, spec: ModelSpec, progress: bool) -> None:
    """Append the rest of ``url`` to ``part``; raise _Transient or _Permanent on failure."""
    from tqdm.auto import tqdm

    from alphacut import __version__

    start = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"alphacut/{__version__}"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S
        )
    except urllib.error.HTTPError as error:
        if error.code == 416 and start:
            # The range starts at or past the end: the partial file is complete, or stale.
            total = (error.headers.get("Content-Range") or "").rpartition("/")[2]
            if total.isdigit() and int(total) == start:
                return
            part.unlink()
            raise _Transient("stale partial download, restarting") from None
        if error.code in (408, 429) or error.code >= 500:
            raise _Transient(f"HTTP {error.code} {error.reason}") from None
        raise _Permanent(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError | ConnectionResetError | ConnectionAbortedError):
            raise _Transient(str(reason)) from None
        # No route, no name resolution, connection refused: retrying will not help.
        raise _Permanent(str(reason)) from None
    except (TimeoutError, ConnectionError, HTTPException) as error:
        raise _Transient(str(error) or type(error).__name__) from None
    with response:
        status = getattr(response, "status", None)
        if start and status != 206:
            start = 0  # the server ignored the range: start over
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else spec.size_bytes
        received = start
        with (
            open(part, "ab" if start else "wb") as out,
            tqdm(
                total=total,
                initial=start,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=spec.file,
                disable=not progress,
                file=sys.stderr,
                leave=False,
            ) as bar,
        ):
            try:
                while block := response.read(CHUNK_BYTES):
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
            except (TimeoutError, ConnectionError, HTTPException) as error:
                raise _Transient(f"connection lost after {received} bytes ({error})") from None
    if length and length.isdigit() and received < total:
        raise _Transient(f"connection closed after {received} of {total} bytes")


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold the cache's inter-process lock, so two processes never write one ``.part``
    file at once (downloads into one cache take turns)."""
    with open(path.parent / ".download.lock", "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s; a download takes longer
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _redownload_hint(spec: ModelSpec, path: Path) -> str:
    if spec.embedded or spec.location is not None or spec.name not in MODEL_SPECS:
        return ""
    return f"; download it again with `alphacut models download {spec.name} --force`"
