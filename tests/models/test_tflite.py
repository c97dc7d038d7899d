"""Tests for the TFLite -> ONNX converter and the bundled MediaPipe selfie models."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "src/alphacut/models/weights"
PEOPLE = REPO.parent / "shared/data/people"
MODELS = {
    "selfie_segmentation": (256, 256),
    "selfie_segmentation_landscape": (144, 256),
}
# Well beyond float32 round-off between two runtimes, well below anything visible.
TOLERANCE = 1e-3
# Enough photos to cover varied scenes while keeping the litert comparison quick.
MAX_PHOTOS = 16


def _photos(limit: int = MAX_PHOTOS) -> list[Path]:
    files = sorted((PEOPLE / "image").glob("*.jpg"), key=lambda p: (len(p.stem), p.stem))
    return files[:limit]


def _load_photo(path: Path, height: int, width: int) -> np.ndarray:
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(path) as image:
        resized = image.convert("RGB").resize((width, height), image_module.BILINEAR)
    return (np.asarray(resized, np.float32) / 255.0)[None]


def _synthetic(height: int, width: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    # A skin-toned ellipse "head" on a shoulder-like block gives the network something
    # person-shaped, so the output is not saturated at 0 everywhere.
    figure = np.full((height, width, 3), (0.2, 0.5, 0.3), np.float32)
    head = ((yy - 0.35 * height) / (0.2 * height)) ** 2 + ((xx - width / 2) / (0.12 * width)) ** 2
    figure[head < 1] = (0.85, 0.65, 0.55)
    figure[(yy > 0.55 * height) & (np.abs(xx - width / 2) < 0.3 * width)] = (0.1, 0.1, 0.4)
    return {
        "zeros": np.zeros((1, height, width, 3), np.float32),
        "noise": rng.random((1, height, width, 3), dtype=np.float32),
        "gradient": np.broadcast_to((xx / width)[None, :, :, None], (1, height, width, 3)).astype(
            np.float32
        ),
        "figure": figure[None],
    }


def _session(path: Path):
    ort = pytest.importorskip("onnxruntime")
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _fetch_module():
    spec = importlib.util.spec_from_file_location(
        "fetch_mediapipe", REPO / "tools/fetch_mediapipe.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tflite_models() -> dict[str, Path]:
    """The original .tflite files from the cache; downloading is opt-in (36 MB)."""
    fetch = _fetch_module()
    download = os.environ.get("ALPHACUT_MEDIAPIPE_DOWNLOAD") == "1"
    try:
        return fetch.fetch(download=download)
    except fetch.FetchError as exc:
        pytest.skip(
            f"MediaPipe tflite models not at hand ({exc}); run tools/fetch_mediapipe.py "
            "or set ALPHACUT_MEDIAPIPE_DOWNLOAD=1"
        )


# -- (a) converter against the TFLite originals ---------------------------------------


@pytest.mark.parametrize("stem", sorted(MODELS))
def test_converter_matches_tflite(stem: str, tflite_models: dict[str, Path], tmp_path: Path):
    pytest.importorskip("onnx")
    pytest.importorskip("tflite")
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from alphacut.models.tflite import convert

    fresh = _session(convert(tflite_models[stem], tmp_path / f"{stem}.onnx"))
    committed = _session(WEIGHTS / f"{stem}.onnx")
    # ai-edge-litert applies its default XNNPACK delegate; the numbers compared are
    # what MediaPipe users actually get.
    interpreter = litert.Interpreter(model_path=str(tflite_models[stem]))
    interpreter.allocate_tensors()
    in_detail = interpreter.get_input_details()[0]
    out_detail = interpreter.get_output_details()[0]

    height, width = MODELS[stem]
    inputs = _synthetic(height, width)
    inputs.update({p.name: _load_photo(p, height, width) for p in _photos()})
    worst = 0.0
    for name, x in inputs.items():
        interpreter.set_tensor(in_detail["index"], x)
        interpreter.invoke()
        expected = interpreter.get_tensor(out_detail["index"])
        got = committed.run(None, {"input": x})[0]
        assert got.shape == expected.shape, name
        diff = float(np.abs(got - expected).max())
        assert diff <= TOLERANCE, f"{stem} on {name}: max abs diff {diff:.2e}"
        worst = max(worst, diff)
        # The committed file must be what the current converter produces.
        regenerated = fresh.run(None, {"input": x})[0]
        np.testing.assert_allclose(regenerated, got, atol=1e-6, err_msg=f"stale {stem}.onnx")
    print(f"{stem}: max abs diff vs tflite {worst:.2e} over {len(inputs)} images")


def test_converter_rejects_unknown_ops():
    """An operator outside the supported set fails loudly instead of being dropped."""
    tflite = pytest.importorskip("tflite")
    from types import SimpleNamespace

    from alphacut.models.tflite import ConversionError, _Converter

    softmax = tflite.BuiltinOperator.SOFTMAX
    code = SimpleNamespace(BuiltinCode=lambda: softmax, DeprecatedBuiltinCode=lambda: softmax)
    converter = object.__new__(_Converter)
    converter.tfl = tflite
    converter.model = SimpleNamespace(OperatorCodes=lambda index: code)
    converter.builtin_names = {softmax: "SOFTMAX"}
    op = SimpleNamespace(OpcodeIndex=lambda: 0)
    with pytest.raises(ConversionError, match="unsupported operator SOFTMAX"):
        converter.convert_op(op)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [(256, 3, 2, (0, 1)), (255, 3, 2, (1, 1)), (64, 3, 1, (1, 1)), (9, 5, 1, (2, 2))],
)
def test_same_padding_matches_tensorflow(size: int, kernel: int, stride: int, expected):
    from alphacut.models.tflite import _same_pads

    assert _same_pads(size, kernel, stride) == expected


# -- (b) committed ONNX files, onnxruntime only -----------------------------------------


@pytest.mark.parametrize("stem", sorted(MODELS))
def test_committed_model_contract(stem: str):
    session = _session(WEIGHTS / f"{stem}.onnx")
    height, width = MODELS[stem]
    (model_input,) = session.get_inputs()
    (model_output,) = session.get_outputs()
    assert model_input.name == "input"
    assert model_input.shape == [1, height, width, 3]
    assert model_input.type == "tensor(float)"
    assert model_output.name == "probability"
    assert model_output.shape == [1, height, width, 1]

    for name, x in _synthetic(height, width).items():
        (y,) = session.run(None, {"input": x})
        assert y.shape == (1, height, width, 1)
        assert y.dtype == np.float32
        assert np.all((y >= 0) & (y <= 1)), name


@pytest.mark.parametrize("stem", sorted(MODELS))
def test_committed_model_finds_people(stem: str):
    photos = _photos(8)
    if not photos:
        pytest.skip(f"no shared people photos under {PEOPLE}")
    image_module = pytest.importorskip("PIL.Image")
    session = _session(WEIGHTS / f"{stem}.onnx")
    height, width = MODELS[stem]

    gaps = []
    for photo in photos:
        (prob,) = session.run(None, {"input": _load_photo(photo, height, width)})
        with image_module.open(photo) as image:
            size = image.size
        prob_full = np.asarray(image_module.fromarray(prob[0, :, :, 0]).resize(size))
        with image_module.open(PEOPLE / "mask" / f"{photo.stem}.png") as mask_image:
            mask = np.asarray(mask_image.convert("L").resize(size, image_module.NEAREST)) > 127
        inside, outside = prob_full[mask].mean(), prob_full[~mask].mean()
        gaps.append(inside - outside)
        assert inside > outside + 0.2, f"{photo.name}: inside {inside:.2f} outside {outside:.2f}"
    # Typical photos separate person from background almost perfectly.
    assert np.median(gaps) > 0.6, gaps
