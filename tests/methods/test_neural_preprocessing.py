"""Spec-driven preprocessing and output handling, checked with probe models.

Each probe is a tiny ONNX graph built here with ``onnx.helper`` whose output is its input
(or a simple function of it), so the probability map that comes back shows exactly the
tensor the model received: a wrong mean, std, layout, size, channel or output index makes
the numbers wrong, not just different.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import alphacut
from alphacut.methods.neural import predict_probability, preprocess
from alphacut.models import session
from alphacut.models.session import load_model
from alphacut.models.specs import IMAGENET_MEAN, IMAGENET_STD, MODEL_SPECS, ModelSpec


@pytest.fixture(autouse=True)
def fresh_sessions():
    session.clear_cache()
    yield
    session.clear_cache()


def _probe(path: Path, shape: list, *, decoy_first: bool = False) -> Path:
    """An ONNX model whose output ``out`` is its input ``image``; with ``decoy_first``
    a negated copy comes first, so only ``output_index=1`` reads the input."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)
    nodes = [helper.make_node("Identity", ["image"], ["out"])]
    outputs = [out]
    if decoy_first:
        nodes.append(helper.make_node("Neg", ["image"], ["decoy"]))
        outputs.insert(0, helper.make_tensor_value_info("decoy", TensorProto.FLOAT, shape))
    graph = helper.make_graph(nodes, "probe", [image], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _spec(path: Path, **fields) -> ModelSpec:
    base = dict(name=path.stem, file=path.name, input_size=(24, 40), location=path)
    return ModelSpec(**{**base, **fields})


def _flat(colour, height=60, width=100) -> np.ndarray:
    return np.broadcast_to(np.float32(colour), (height, width, 3)).copy()


def _ramp(height=60, width=100) -> np.ndarray:
    """Brightness rising from left to right, the same on every row."""
    row = np.linspace(0.0, 1.0, width, dtype=np.float32)
    return np.repeat(np.broadcast_to(row[None, :, None], (height, width, 1)), 3, axis=2).copy()


COLOUR = (0.7, 0.6, 0.5)


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_nchw_imagenet_normalisation_reaches_the_model(tmp_path, channel):
    path = _probe(tmp_path / "nchw.onnx", [1, 3, 24, 40])
    spec = _spec(path, mean=IMAGENET_MEAN, std=IMAGENET_STD, output_channel=channel)
    loaded = load_model(spec, device="cpu")
    probability = predict_probability(_flat(COLOUR), loaded)
    expected = (COLOUR[channel] - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
    assert probability.shape == (24, 40)  # height, width as the spec says
    np.testing.assert_allclose(probability, expected, atol=1e-5)


def test_preprocess_builds_the_tensor_the_spec_describes(tmp_path):
    spec = _spec(tmp_path / "x.onnx", mean=IMAGENET_MEAN, std=IMAGENET_STD)
    tensor = preprocess(_flat(COLOUR), spec)
    assert tensor.shape == (1, 3, 24, 40) and tensor.dtype == np.float32
    expected = (np.array(COLOUR) - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(tensor[0, :, 5, 7], expected, atol=1e-6)
    nhwc = preprocess(_flat(COLOUR), replace(spec, layout="NHWC"))
    assert nhwc.shape == (1, 24, 40, 3)
    np.testing.assert_allclose(nhwc[0, 5, 7], expected, atol=1e-6)


def test_nhwc_layout_keeps_width_and_height_apart(tmp_path):
    path = _probe(tmp_path / "nhwc.onnx", [1, 32, 48, 3])
    spec = _spec(path, input_size=(32, 48), layout="NHWC")
    probability = predict_probability(_ramp(), load_model(spec, device="cpu"))
    assert probability.shape == (32, 48)
    # The ramp runs along the width: constant down each column, rising along each row.
    np.testing.assert_allclose(probability.std(axis=0), 0, atol=1e-6)
    assert np.all(np.diff(probability[0]) > 0)
    assert probability[0, 0] < 0.05 and probability[0, -1] > 0.95


def test_isnet_style_mean_half_std_one(tmp_path):
    path = _probe(tmp_path / "isnet.onnx", [1, 3, 24, 40])
    spec = _spec(path, mean=(0.5,) * 3, std=(1.0,) * 3)
    probability = predict_probability(_flat((0.8, 0.8, 0.8)), load_model(spec, device="cpu"))
    np.testing.assert_allclose(probability, 0.3, atol=1e-5)


def test_sigmoid_activation_is_applied_to_logits(tmp_path):
    path = _probe(tmp_path / "logit.onnx", [1, 3, 24, 40])
    spec = _spec(path, mean=(0.5,) * 3, std=(0.25,) * 3, activation="sigmoid")
    probability = predict_probability(_flat((0.75, 0.75, 0.75)), load_model(spec, device="cpu"))
    np.testing.assert_allclose(probability, 1 / (1 + np.exp(-1.0)), atol=1e-5)


def test_minmax_activation_stretches_the_map(tmp_path):
    path = _probe(tmp_path / "minmax.onnx", [1, 3, 24, 40])
    spec = _spec(path, mean=IMAGENET_MEAN, std=IMAGENET_STD, activation="minmax")
    probability = predict_probability(_ramp(), load_model(spec, device="cpu"))
    assert probability.min() == pytest.approx(0, abs=1e-6)
    assert probability.max() == pytest.approx(1, abs=1e-6)


def test_output_index_picks_the_right_output(tmp_path):
    path = _probe(tmp_path / "two.onnx", [1, 3, 24, 40], decoy_first=True)
    loaded = load_model(_spec(path, output_index=1), device="cpu")
    probability = predict_probability(_flat(COLOUR), loaded)
    np.testing.assert_allclose(probability, COLOUR[0], atol=1e-5)


@pytest.mark.parametrize(
    "photo_shape, expected", [((100, 200), (32, 64)), ((300, 150), (64, 32)), ((90, 90), (64, 64))]
)
def test_dynamic_models_keep_the_aspect_at_a_multiple_of_32(tmp_path, photo_shape, expected):
    path = _probe(tmp_path / "dynamic.onnx", ["n", 3, "h", "w"])
    spec = _spec(path, input_size=(64, 64), dynamic_size=True, size_multiple=32)
    spec = replace(spec, mean=(0.5,) * 3, std=(0.5,) * 3)
    probability = predict_probability(_flat((0.6,) * 3, *photo_shape), load_model(spec))
    assert probability.shape == expected
    np.testing.assert_allclose(probability, 0.2, atol=1e-5)  # MODNet's (x - 0.5) / 0.5


@pytest.mark.parametrize("batch", [1, "n"])
def test_flip_averaging_works_with_fixed_and_free_batch(tmp_path, batch):
    path = _probe(tmp_path / f"batch_{batch}.onnx", [batch, 32, 48, 3])
    loaded = load_model(_spec(path, input_size=(32, 48), layout="NHWC"), device="cpu")
    plain = predict_probability(_ramp(), loaded)
    flipped = predict_probability(_ramp(), loaded, flip=True)
    # The probe mirrors what it is given, so the mirrored run, mirrored back, is the plain
    # run again; a missing or doubled mirror would average the ramp flat.
    np.testing.assert_allclose(flipped, plain, atol=1e-6)
    assert np.all(np.diff(flipped[0]) > 0)


DOWNLOADABLE = [s for s in MODEL_SPECS.values() if not s.embedded]


@pytest.mark.parametrize("row", [*DOWNLOADABLE, MODEL_SPECS["selfie"]], ids=lambda s: s.name)
def test_each_table_row_preprocesses_as_it_says(tmp_path, row):
    # A colour at mean + std / 2 comes out as exactly 0.5 in every channel when the row's
    # normalisation is applied, and as something else when it is not.
    height, width = row.input_size
    if row.dynamic_size:
        shape = ["n", 3, "h", "w"]
    elif row.layout == "NCHW":
        shape = [1, 3, height, width]
    else:
        shape = [1, height, width, 3]
    path = _probe(tmp_path / row.file, shape)
    probe = replace(
        row, embedded=False, location=path, urls=(), sha256=None, md5=None, activation="none"
    )
    colour = tuple(m + s / 2 for m, s in zip(row.mean, row.std, strict=True))
    loaded = load_model(probe, device="cpu")
    for channel in range(3):
        probability = predict_probability(
            _flat(colour, 64, 48), replace(loaded, spec=replace(probe, output_channel=channel))
        )
        np.testing.assert_allclose(probability, 0.5, atol=1e-4)


def test_neural_runs_a_spec_end_to_end(tmp_path, person):
    path = _probe(tmp_path / "e2e.onnx", [1, 3, 24, 40])
    spec = _spec(path, mean=(0.0,) * 3, std=(1.0,) * 3)
    alpha = alphacut.neural(person, model=spec, device="cpu", flip=False, contrast=1)
    assert alpha.shape == person.shape[:2] and alpha.dtype == np.float32
    assert alpha.min() >= 0 and alpha.max() <= 1
    # The probe's "probability" is the photo's red channel, brought back to full size.
    red = person[..., 0] / 255.0
    assert np.corrcoef(alpha.ravel(), red.ravel())[0, 1] > 0.8
