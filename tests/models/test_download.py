"""Downloading models: served from a local HTTP server, never from the network.

The server on 127.0.0.1 (``model_server`` in conftest.py) can be scripted per request
(drop the connection after some bytes, answer 503, ignore ``Range``) to exercise retries
and resuming; a guard makes any connection to a host other than this machine fail the test.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from alphacut.cli import models as models_cli
from alphacut.models import download, specs
from alphacut.models.download import ChecksumError, ModelDownloadError
from alphacut.models.session import load_model
from alphacut.models.specs import ModelSpec


def _identity_onnx(shape=(1, 3, 8, 8)) -> bytes:
    """A tiny valid ONNX model (output = input), so a served file can also be loaded."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, list(shape))
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, list(shape))
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["out"])], "g", [image], [out]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    # Padding makes the file long enough to be cut off mid-way by the scripted server.
    model.doc_string = "x" * 5000
    return model.SerializeToString()


PAYLOAD = _identity_onnx()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


pytestmark = pytest.mark.usefixtures("offline", "cache")


@pytest.fixture()
def server(model_server):
    model_server.files["/tiny.onnx"] = PAYLOAD
    return model_server


@pytest.fixture()
def never_loaded(monkeypatch) -> list:
    """Records every attempt to create an ONNX Runtime session."""
    calls: list = []
    real = ort.InferenceSession

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", spy)
    return calls


def _spec(*urls: str, **pins) -> ModelSpec:
    pins = pins or {"sha256": SHA256}
    return ModelSpec(
        name="tiny",
        file="tiny.onnx",
        input_size=(8, 8),
        urls=urls,
        size_bytes=len(PAYLOAD),
        **pins,
    )


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/tiny.onnx"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != ".download.lock")


def test_downloads_on_first_use_into_the_cache(server, cache):
    path = download.fetch(_spec(server.url("tiny.onnx")), progress=False)
    assert path == cache / "tiny.onnx"
    assert path.read_bytes() == PAYLOAD
    assert _leftovers(cache) == ["tiny.onnx"]  # no .part, no pooch temporary file


def test_cache_is_reused_without_the_network(server):
    spec = _spec(server.url("tiny.onnx"))
    first = download.fetch(spec, progress=False)
    server.close()
    download._verified.clear()  # as in a new process: verified again, not downloaded
    assert download.fetch(spec, progress=False) == first
    assert server.gets("tiny.onnx") == [None]


def test_a_downloaded_model_loads_and_runs(server):
    loaded = load_model(_spec(server.url("tiny.onnx")), device="cpu")
    assert loaded.provider == "CPUExecutionProvider"
    x = np.ones((1, 3, 8, 8), np.float32)
    np.testing.assert_array_equal(loaded.session.run(None, {"image": x})[0], x)


def test_a_publisher_md5_alone_is_enough(server):
    path = download.fetch(_spec(server.url("tiny.onnx"), md5=MD5), progress=False)
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_the_download_and_never_loads_it(server, cache, never_loaded):
    spec = _spec(server.url("tiny.onnx"), sha256="0" * 64)
    with pytest.raises(ChecksumError) as caught:
        load_model(spec, device="cpu")
    message = str(caught.value)
    assert "checksum" in message and "tiny.onnx" in message and "\n" not in message
    assert never_loaded == []
    assert _leftovers(cache) == []


def test_every_pinned_checksum_must_match(server, cache, never_loaded):
    spec = _spec(server.url("tiny.onnx"), sha256=SHA256, md5="0" * 32)
    with pytest.raises(ChecksumError, match="md5"):
        load_model(spec, device="cpu")
    assert never_loaded == [] and _leftovers(cache) == []


def test_a_cached_file_that_no_longer_matches_is_refused(server, cache, never_loaded):
    spec = _spec(server.url("tiny.onnx"))
    cache.mkdir(parents=True)
    (cache / "tiny.onnx").write_bytes(PAYLOAD[:-10] + b"tampered!!")
    with pytest.raises(ChecksumError) as caught:
        load_model(spec, device="cpu")
    assert "checksum" in str(caught.value) and str(cache / "tiny.onnx") in str(caught.value)
    assert never_loaded == []
    assert server.requests == []  # refused, not silently replaced


def test_a_file_changed_after_verification_is_verified_again(server, cache, never_loaded):
    spec = _spec(server.url("tiny.onnx"))
    path = download.fetch(spec, progress=False)
    path.write_bytes(b"garbage")
    with pytest.raises(ChecksumError, match="checksum"):
        load_model(spec, device="cpu")
    assert never_loaded == []


def test_an_interrupted_download_resumes_where_it_stopped(server, cache):
    server.script["/tiny.onnx"] = ["drop:1000"]
    path = download.fetch(_spec(server.url("tiny.onnx")), progress=False)
    assert path.read_bytes() == PAYLOAD
    assert server.gets("tiny.onnx") == [None, "bytes=1000-"]


def test_an_interrupted_download_resumes_in_a_later_run(server, cache, monkeypatch, capsys):
    monkeypatch.setattr(download, "RETRIES", 1)
    server.script["/tiny.onnx"] = ["drop:1500"]
    spec = _spec(server.url("tiny.onnx"))
    with pytest.raises(ModelDownloadError, match="connection closed after 1500"):
        download.fetch(spec, progress=False)
    assert (cache / "tiny.onnx.part").stat().st_size == 1500
    assert not (cache / "tiny.onnx").exists()
    monkeypatch.setitem(specs.MODEL_SPECS, "tiny", spec)
    assert models_cli.run(argparse.Namespace(models_action="list")) == 0
    assert "partial" in capsys.readouterr().out
    assert download.fetch(spec, progress=False).read_bytes() == PAYLOAD
    assert server.gets("tiny.onnx") == [None, "bytes=1500-"]


def test_a_server_that_ignores_range_restarts_the_file(server):
    server.script["/tiny.onnx"] = ["drop:700", "ignore-range"]
    path = download.fetch(_spec(server.url("tiny.onnx")), progress=False)
    assert path.read_bytes() == PAYLOAD


def test_an_already_complete_partial_file_is_used(server, cache):
    cache.mkdir(parents=True)
    (cache / "tiny.onnx.part").write_bytes(PAYLOAD)
    path = download.fetch(_spec(server.url("tiny.onnx")), progress=False)
    assert path.read_bytes() == PAYLOAD
    assert server.gets("tiny.onnx") == [f"bytes={len(PAYLOAD)}-"]  # answered 416


def test_a_corrupt_partial_file_is_deleted_with_the_download(server, cache):
    cache.mkdir(parents=True)
    (cache / "tiny.onnx.part").write_bytes(b"\0" * 100)
    with pytest.raises(ChecksumError):
        download.fetch(_spec(server.url("tiny.onnx")), progress=False)
    assert _leftovers(cache) == []
    # ...so the next attempt starts clean and succeeds.
    assert download.fetch(_spec(server.url("tiny.onnx")), progress=False).is_file()


def test_transient_server_errors_are_retried(server):
    server.script["/tiny.onnx"] = ["503", "503"]
    path = download.fetch(_spec(server.url("tiny.onnx")), progress=False)
    assert path.read_bytes() == PAYLOAD and len(server.gets("tiny.onnx")) == 3


def test_the_next_url_is_tried_when_one_fails(server):
    path = download.fetch(_spec(server.url("gone.onnx"), server.url("tiny.onnx")), progress=False)
    assert path.read_bytes() == PAYLOAD
    assert server.gets("gone.onnx") == [None]  # a 404 is not retried


def test_offline_error_names_model_url_and_where_to_put_the_file(cache):
    url = _closed_port_url()
    start = time.perf_counter()
    with pytest.raises(ModelDownloadError) as caught:
        download.fetch(_spec(url), progress=False)
    message = str(caught.value)
    assert time.perf_counter() - start < 5  # a refused connection is not retried
    assert "\n" not in message
    for expected in ("'tiny'", url, str(cache / "tiny.onnx"), "curl -L -o", "models download"):
        assert expected in message


def test_offline_error_for_a_real_table_model_touches_no_network(cache, never_loaded):
    # The guard makes the GitHub name lookup fail as it would offline.
    with pytest.raises(ModelDownloadError) as caught:
        load_model("u2netp", device="cpu")
    message = str(caught.value)
    assert "'u2netp'" in message and "github.com/danielgatis/rembg" in message
    assert str(cache / "u2netp.onnx") in message
    assert never_loaded == []


def test_file_urls_work(tmp_path):
    source = tmp_path / "copy" / "tiny.onnx"
    source.parent.mkdir()
    source.write_bytes(PAYLOAD)
    path = download.fetch(_spec(source.as_uri()), progress=False)
    assert path.read_bytes() == PAYLOAD


def test_a_local_mirror_is_tried_first(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tiny.onnx").write_bytes(PAYLOAD)
    monkeypatch.setenv("ALPHACUT_MODEL_MIRROR", str(mirror))
    path = download.fetch(_spec(_closed_port_url()), progress=False)
    assert path.read_bytes() == PAYLOAD


def test_cache_folder_follows_alphacut_home_else_platformdirs(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "elsewhere"))
    assert download.cache_dir() == tmp_path / "elsewhere" / "models"
    monkeypatch.delenv("ALPHACUT_HOME")
    import platformdirs

    assert download.cache_dir() == Path(platformdirs.user_cache_dir("alphacut")) / "models"


def test_progress_is_reported_on_stderr(server, capsys):
    download.fetch(_spec(server.url("tiny.onnx")), progress=True)
    captured = capsys.readouterr()
    assert "downloading model tiny" in captured.err and captured.out == ""


def test_concurrent_fetches_download_once(server):
    server.delay_s = 0.3
    spec = _spec(server.url("tiny.onnx"))
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(download.fetch(spec, progress=False)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and len(set(results)) == 1
    assert server.gets("tiny.onnx") == [None]


def test_unpinned_specs_are_not_downloaded(server):
    spec = replace(_spec(server.url("tiny.onnx")), sha256=None)
    with pytest.raises(ModelDownloadError, match="pins no checksum"):
        download.fetch(spec, progress=False)
    assert server.requests == []


# --- alphacut models list|download|path|verify -------------------------------------------


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="alphacut")
    models_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["models", *argv])
    return args.func(args)


def test_models_list_shows_every_spec_with_size_licence_and_cached_state(cache, capsys):
    cache.mkdir(parents=True)
    (cache / "u2netp.onnx").write_bytes(b"present")
    assert _cli("list") == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    for spec in specs.MODEL_SPECS.values():
        line = lines[spec.name]
        assert spec.licence in line and spec.description in line
    assert "176 MB" in lines["u2net"] and "4.6 MB" in lines["u2netp"]
    assert "973 MB" in lines["birefnet-general"] and "235 kB" in lines["selfie"]
    assert " embedded " in lines["selfie"]
    assert " installed " in lines["u2netp"] and " not installed " in lines["u2net"]
    assert str(cache) in out


def test_models_list_marks_the_model_a_plain_run_uses(cache, monkeypatch, capsys):
    monkeypatch.delenv("ALPHACUT_MODEL")
    assert _cli("list") == 0
    out = capsys.readouterr().out
    marked = [line.split()[0] for line in out.splitlines() if line.split()[1:2] == ["*"]]
    assert marked == ["selfie"]
    assert "* used when no --model is given: only the embedded person model" in out
    cache.mkdir(parents=True)
    (cache / "u2netp.onnx").write_bytes(b"present")
    assert _cli("list") == 0
    out = capsys.readouterr().out
    marked = [line.split()[0] for line in out.splitlines() if line.split()[1:2] == ["*"]]
    assert marked == ["u2netp"]
    assert "the general model u2netp is installed" in out


def test_models_download_and_path(server, cache, monkeypatch, capsys):
    monkeypatch.setitem(specs.MODEL_SPECS, "tiny", _spec(server.url("tiny.onnx")))
    assert _cli("path", "tiny") == 0
    assert capsys.readouterr().out.strip() == str(cache / "tiny.onnx")
    assert _cli("download", "-q", "tiny", "selfie") == 0
    out = capsys.readouterr().out
    assert f"tiny: {cache / 'tiny.onnx'}" in out and "selfie: embedded" in out
    assert _cli("download", "--force", "-q", "tiny") == 0
    assert len(server.gets("tiny.onnx")) == 2
    assert _cli("path") == 0 and capsys.readouterr().out.strip().endswith(str(cache))


def test_models_download_reports_failures(cache, monkeypatch, capsys):
    monkeypatch.setitem(specs.MODEL_SPECS, "tiny", _spec(_closed_port_url()))
    assert _cli("download", "-q", "tiny") == 1
    assert "cannot download model 'tiny'" in capsys.readouterr().err
    assert _cli("download", "no-such-model") == 2
    assert _cli("download") == 2


def test_models_verify_finds_a_damaged_file(server, cache, monkeypatch, capsys):
    monkeypatch.setitem(specs.MODEL_SPECS, "tiny", _spec(server.url("tiny.onnx")))
    download.fetch(specs.MODEL_SPECS["tiny"], progress=False)
    assert _cli("verify", "tiny", "u2net", "selfie") == 0
    out = capsys.readouterr().out
    assert re.search(rf"^ok\s+tiny\s+sha256 {SHA256}$", out, re.MULTILINE)
    assert "not downloaded" in out and "embedded" in out
    (cache / "tiny.onnx").write_bytes(b"bit rot")
    assert _cli("verify", "tiny") == 1
    captured = capsys.readouterr()
    assert "checksum mismatch" in captured.out and "checksum mismatch: tiny" in captured.err
    result = download.verify_cached(["tiny"])[0]
    assert not result.ok and result.path == cache / "tiny.onnx"


def test_onnx_model_in_payload_is_valid():
    onnx.checker.check_model(onnx.load_from_string(PAYLOAD))
