"""Sessions: execution providers, the chosen device reported, model files given by path,
thread settings, batching and the session cache."""

from __future__ import annotations

import logging
import os
import shutil
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from alphacut.models import download, session
from alphacut.models.session import (
    LoadedModel,
    choose_providers,
    clear_cache,
    default_threads,
    load_model,
    run_batch,
)
from alphacut.models.specs import WEIGHTS_DIR, get_spec, spec_from_onnx

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
SELFIE = WEIGHTS_DIR / "selfie_segmentation.onnx"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh cache, no network beyond this machine, default threads, no cached sessions."""
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ALPHACUT_THREADS", raising=False)
    monkeypatch.delenv("ALPHACUT_MODEL_MIRROR", raising=False)
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise socket.gaierror(f"test tried to resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    clear_cache()
    yield
    clear_cache()


def _providers(monkeypatch, *available: str) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: list(available))


def _identity(path: Path, shape: list) -> Path:
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["out"])], "g", [image], [out]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


# --- providers -----------------------------------------------------------------------------


def test_cpu_is_always_there():
    assert choose_providers("cpu") == [CPU]
    assert choose_providers("CPU") == [CPU]


def test_auto_prefers_cuda_then_coreml_directml_then_cpu(monkeypatch):
    _providers(monkeypatch, "DmlExecutionProvider", CUDA, CPU)
    assert choose_providers("auto") == [CUDA, CPU]
    _providers(monkeypatch, "CoreMLExecutionProvider", CPU)
    assert choose_providers("auto") == ["CoreMLExecutionProvider", CPU]
    _providers(monkeypatch, "DmlExecutionProvider", CPU)
    assert choose_providers("auto") == ["DmlExecutionProvider", CPU]
    _providers(monkeypatch, "TensorrtExecutionProvider", CPU)
    assert choose_providers("auto") == [CPU]  # TensorRT only when asked for
    _providers(monkeypatch, CPU)
    assert choose_providers("auto") == [CPU]


def test_named_devices_and_device_index(monkeypatch):
    _providers(monkeypatch, "TensorrtExecutionProvider", CUDA, CPU)
    assert choose_providers("cuda") == [CUDA, CPU]
    assert choose_providers("tensorrt") == ["TensorrtExecutionProvider", CPU]
    assert choose_providers("CUDAExecutionProvider") == [CUDA, CPU]
    assert choose_providers("cuda:1") == [(CUDA, {"device_id": 1}), CPU]
    with pytest.raises(ValueError, match="must be a number"):
        choose_providers("cuda:first")


def test_unavailable_device_lists_what_is_available():
    if CUDA in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(ValueError, match=r"not available here \(onnxruntime offers: .*CPU.*gpu"):
        choose_providers("cuda")
    with pytest.raises(ValueError, match="not available"):
        choose_providers("warp-drive")


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_the_provider_used_is_reported(device):
    loaded = load_model("selfie", device=device)
    assert loaded.provider == loaded.session.get_providers()[0]
    assert loaded.provider in ort.get_available_providers()
    if device == "cpu":
        assert loaded.provider == CPU
    assert loaded.describe().startswith(f"selfie on {loaded.provider}")


def test_the_chosen_provider_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="alphacut"):
        load_model("selfie", device="cpu")
    assert "model selfie on CPUExecutionProvider" in caplog.text


def test_an_explicit_device_that_fails_to_start_is_an_error(monkeypatch):
    # Pretend the build offers CUDA while its libraries are missing: onnxruntime then
    # quietly runs on the CPU, which must not pass for a GPU run the user asked for.
    _providers(monkeypatch, CUDA, CPU)
    real = ort.InferenceSession
    monkeypatch.setattr(
        ort, "InferenceSession", lambda path, **kw: real(path, kw["sess_options"], [CPU])
    )
    with pytest.raises(RuntimeError, match="could not start CUDAExecutionProvider"):
        load_model("selfie", device="cuda")


def test_auto_falls_back_and_says_so(monkeypatch, caplog):
    _providers(monkeypatch, CUDA, CPU)
    real = ort.InferenceSession
    monkeypatch.setattr(
        ort, "InferenceSession", lambda path, **kw: real(path, kw["sess_options"], [CPU])
    )
    with caplog.at_level(logging.WARNING, logger="alphacut"):
        loaded = load_model("selfie", device="auto")
    assert loaded.provider == CPU
    assert "CUDAExecutionProvider could not start; running on CPUExecutionProvider" in caplog.text


# --- model files by path -------------------------------------------------------------------


def test_a_path_to_any_onnx_file_gets_a_guessed_spec(tmp_path):
    path = _identity(tmp_path / "mine.onnx", ["n", 3, 240, 320])
    loaded = load_model(str(path), device="cpu")
    assert loaded.path == path.resolve()
    spec = loaded.spec
    assert (spec.name, spec.layout, spec.input_size, spec.dynamic_size) == (
        "mine",
        "NCHW",
        (240, 320),
        False,
    )
    assert load_model(path, device="cpu") is loaded  # a Path works as well as a str


def test_a_spec_from_the_command_line_overrides_the_guess(tmp_path):
    path = _identity(tmp_path / "mine.onnx", ["n", 3, "h", "w"])
    guessed = load_model(str(path), device="cpu")
    spec = spec_from_onnx(path, input_size=256, mean=(0.5,) * 3, std=(0.5,) * 3)
    given = load_model(spec, device="cpu")
    assert given.spec.mean == (0.5,) * 3 and given.spec.input_size == (256, 256)
    assert given is not guessed and given.session is guessed.session  # one session per file


def test_a_file_named_like_a_table_row_runs_as_that_row(tmp_path):
    copy = tmp_path / "selfie_segmentation_landscape.onnx"
    shutil.copy(WEIGHTS_DIR / copy.name, copy)
    loaded = load_model(str(copy), device="cpu")
    assert loaded.spec.name == "selfie-landscape" and loaded.spec.activation == "none"
    assert loaded.spec.location == copy.resolve() and not loaded.spec.embedded


def test_missing_or_broken_model_files_say_which(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.onnx does not exist"):
        load_model(str(tmp_path / "missing.onnx"), device="cpu")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="cannot load model file .*broken.onnx"):
        load_model(str(broken), device="cpu")


def test_unknown_names_list_the_known_ones():
    with pytest.raises(KeyError, match="known models: selfie"):
        load_model("no-such-model", device="cpu")


def test_a_table_model_that_cannot_be_downloaded_is_a_clear_error(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/u2netp.onnx"
    spec = replace(get_spec("u2netp"), urls=(url,))
    with pytest.raises(download.ModelDownloadError, match="cannot download model 'u2netp'"):
        load_model(spec, device="cpu")


# --- cache and threads ---------------------------------------------------------------------


def test_sessions_are_cached_until_cleared():
    first = load_model("selfie", device="cpu")
    assert load_model("selfie", device="cpu") is first
    clear_cache()
    assert load_model("selfie", device="cpu") is not first


def test_the_cache_keeps_the_sessions_used_last(tmp_path):
    # Five small models, one more than the cache holds: the four embedded files by path,
    # and a file of our own.
    paths = [
        WEIGHTS_DIR / name
        for name in (
            "selfie_segmentation.onnx",
            "selfie_segmentation_landscape.onnx",
            "face_detection_full_range.onnx",
            "pose_detection.onnx",
        )
    ]
    paths.append(_identity(tmp_path / "mine.onnx", ["n", 3, 64, 64]))
    assert session.CACHE_SIZE == 4 < len(paths)
    first = [load_model(path, device="cpu") for path in paths[:4]]
    assert load_model(paths[0], device="cpu") is first[0]  # used again: now the most recent
    load_model(paths[4], device="cpu")  # one too many: the least recently used goes
    assert len(session._cache) == session.CACHE_SIZE
    for kept in (0, 2, 3):
        assert load_model(paths[kept], device="cpu") is first[kept]
    again = load_model(paths[1], device="cpu")  # was dropped: a new session
    assert again is not first[1] and again.session is not first[1].session
    assert len(session._cache) == session.CACHE_SIZE


def test_specs_on_one_file_share_its_one_cache_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "CACHE_SIZE", 1)
    path = _identity(tmp_path / "mine.onnx", ["n", 3, "h", "w"])
    guessed = load_model(path, device="cpu")
    given = load_model(spec_from_onnx(path, input_size=256), device="cpu")
    assert given.session is guessed.session and load_model(path, device="cpu") is guessed
    load_model(SELFIE, device="cpu")  # another file: the one entry is its now
    assert len(session._cache) == 1
    assert load_model(path, device="cpu").session is not guessed.session


def test_threads_follow_alphacut_threads_else_the_usable_cpus(monkeypatch):
    assert 1 <= default_threads() <= (os.cpu_count() or 1)
    monkeypatch.setenv("ALPHACUT_THREADS", "3")
    assert default_threads() == 3
    loaded = load_model("selfie", device="cpu")
    assert loaded.threads == 3
    assert loaded.session.get_session_options().intra_op_num_threads == 3


def test_threads_respect_a_container_cpu_quota(monkeypatch):
    monkeypatch.setattr(session, "_cgroup_cpu_limit", lambda: 1)
    assert default_threads() == 1


def test_cgroup_quota_is_read(tmp_path, monkeypatch):
    real_path = session.Path

    def fake_path(name):
        mapping = {"/sys/fs/cgroup/cpu.max": tmp_path / "cpu.max"}
        return real_path(mapping.get(str(name), tmp_path / "absent"))

    monkeypatch.setattr(session, "Path", fake_path)
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert session._cgroup_cpu_limit() == 2
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert session._cgroup_cpu_limit() is None


# --- batching ------------------------------------------------------------------------------


class _CountingSession:
    """Stands in for an InferenceSession: output = input, and counts the calls."""

    def __init__(self, batch_dim):
        self.batch_dim, self.calls = batch_dim, []

    def get_inputs(self):
        return [type("Input", (), {"name": "image", "shape": [self.batch_dim, 3, 4, 4]})()]

    def run(self, names, feeds):
        self.calls.append(len(feeds["image"]))
        return [feeds["image"], -feeds["image"]]


@pytest.mark.parametrize(
    "batch_dim, max_batch, calls",
    [("n", 8, [5]), ("n", 2, [2, 2, 1]), (1, 8, [1, 1, 1, 1, 1]), (None, 4, [4, 1])],
)
def test_run_batch_uses_the_batch_the_model_allows(batch_dim, max_batch, calls):
    fake = _CountingSession(batch_dim)
    loaded = LoadedModel(fake, get_spec("selfie"), CPU, SELFIE)
    batch = np.arange(5 * 3 * 4 * 4, dtype=np.float32).reshape(5, 3, 4, 4)
    outputs = run_batch(loaded, batch, max_batch=max_batch)
    assert fake.calls == calls
    np.testing.assert_array_equal(outputs[0], batch)
    np.testing.assert_array_equal(outputs[1], -batch)
    assert loaded.batch_size == (batch_dim if isinstance(batch_dim, int) else None)


def test_run_batch_on_a_real_model_with_a_free_batch(tmp_path):
    loaded = load_model(str(_identity(tmp_path / "b.onnx", ["n", 3, 8, 8])), device="cpu")
    assert loaded.batch_size is None
    batch = np.random.default_rng(0).random((3, 3, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(run_batch(loaded, batch)[0], batch)
    assert load_model("selfie", device="cpu").batch_size == 1
