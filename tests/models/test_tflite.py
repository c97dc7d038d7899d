"""Tests for the TFLite -> ONNX converter and the bundled MediaPipe models."""

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
# Shipped detector ONNX stem -> (source .tflite stem, input side, (anchors, box values)).
DETECTORS = {
    "face_detection_full_range": ("face_detection_full_range_sparse", 192, (2304, 16)),
    "pose_detection": ("pose_detection", 224, (2254, 12)),
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


def _cached_tflite(stems: list[str]) -> dict[str, Path]:
    """The original .tflite files from the cache; downloading is opt-in (36 MB)."""
    fetch = _fetch_module()
    download = os.environ.get("ALPHACUT_MEDIAPIPE_DOWNLOAD") == "1"
    try:
        return fetch.fetch(download=download, models=stems)
    except fetch.FetchError as exc:
        reason = (
            f"MediaPipe tflite models not at hand ({exc}); run tools/fetch_mediapipe.py "
            "or set ALPHACUT_MEDIAPIPE_DOWNLOAD=1"
        )
        # CI fetches them first and sets ALPHACUT_REQUIRE_MODELS=1: there a converter
        # test that cannot compare against the original must fail, not skip unseen.
        if os.environ.get("ALPHACUT_REQUIRE_MODELS") == "1":
            pytest.fail(f"{reason} (ALPHACUT_REQUIRE_MODELS=1)", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def tflite_models() -> dict[str, Path]:
    """The selfie segmentation originals (an older cache without detectors still serves)."""
    return _cached_tflite(sorted(MODELS))


@pytest.fixture(scope="module")
def detector_tflite() -> dict[str, Path]:
    """The face and pose detector originals, keyed by their .tflite stem."""
    return _cached_tflite([source for source, _, _ in DETECTORS.values()])


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


# -- (c) MediaPipe detectors: face (full range, sparse weights) and pose -----------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def _detector_inputs(side: int, photos: int) -> dict[str, np.ndarray]:
    # Both detectors take RGB scaled to [-1, 1] (x / 127.5 - 1).
    inputs = {name: x * 2.0 - 1.0 for name, x in _synthetic(side, side).items()}
    inputs.update({p.name: _load_photo(p, side, side) * 2.0 - 1.0 for p in _photos(photos)})
    return inputs


@pytest.mark.parametrize("stem", sorted(DETECTORS))
def test_detector_matches_tflite(stem: str, detector_tflite: dict[str, Path], tmp_path: Path):
    pytest.importorskip("onnx")
    pytest.importorskip("tflite")
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from alphacut.models.tflite import convert

    source, side, _ = DETECTORS[stem]
    fresh = _session(convert(detector_tflite[source], tmp_path / f"{stem}.onnx"))
    committed = _session(WEIGHTS / f"{stem}.onnx")
    interpreter = litert.Interpreter(model_path=str(detector_tflite[source]))
    interpreter.allocate_tensors()
    in_detail = interpreter.get_input_details()[0]
    # TFLite order is (boxes, scores), the same as the ONNX outputs.
    out_details = interpreter.get_output_details()

    worst = {"boxes": 0.0, "scores": 0.0, "sigmoid": 0.0}
    worst_relative = {"boxes": 0.0, "scores": 0.0}
    for name, x in _detector_inputs(side, 8).items():
        interpreter.set_tensor(in_detail["index"], x)
        interpreter.invoke()
        expected = [interpreter.get_tensor(d["index"]) for d in out_details]
        got = committed.run(None, {"input": x})
        for key, e, g in zip(("boxes", "scores"), expected, got, strict=True):
            assert g.shape == e.shape, (name, key)
            # Raw outputs are pixel offsets / logits spanning hundreds of units, so the
            # bound is relative to what the TFLite output actually spans.
            diff = float(np.abs(g - e).max())
            span = max(float(e.max() - e.min()), 1.0)
            assert diff <= TOLERANCE * span, f"{stem} {key} on {name}: {diff:.2e} (span {span:.0f})"
            worst[key] = max(worst[key], diff)
            worst_relative[key] = max(worst_relative[key], diff / span)
        prob_diff = float(np.abs(_sigmoid(got[1]) - _sigmoid(expected[1])).max())
        assert prob_diff <= TOLERANCE, f"{stem} score on {name}: {prob_diff:.2e}"
        worst["sigmoid"] = max(worst["sigmoid"], prob_diff)
        for regenerated, g in zip(fresh.run(None, {"input": x}), got, strict=True):
            np.testing.assert_allclose(regenerated, g, atol=1e-5, err_msg=f"stale {stem}.onnx")
    print(f"{stem}: max abs diff vs tflite {worst}, relative to span {worst_relative}")


@pytest.mark.parametrize("source", [source for source, _, _ in DETECTORS.values()])
def test_densify_matches_litert(source: str, detector_tflite: dict[str, Path]):
    """Every sparse weight decodes to exactly what TFLite's own DENSIFY kernel produces."""
    tflite = pytest.importorskip("tflite")
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from alphacut.models.tflite import _Converter

    path = detector_tflite[source]
    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    converter = _Converter(model, fp16_weights=True)
    sub = model.Subgraphs(0)
    pairs = []
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == tflite.BuiltinOperator.DENSIFY:
            pairs.append((int(op.InputsAsNumpy()[0]), int(op.OutputsAsNumpy()[0])))
    assert pairs, "expected sparse weights"

    # Without the default XNNPACK delegate: it swallows the DENSIFY nodes, leaving their
    # outputs unwritten, whereas the builtin kernels leave them readable.
    interpreter = litert.Interpreter(
        model_path=str(path),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    interpreter.invoke()
    for sparse, dense in pairs:
        expected = interpreter.get_tensor(dense)
        got = converter.constant(sparse)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.count_nonzero(expected) > 0
        np.testing.assert_array_equal(got, expected, err_msg=f"DENSIFY output tensor {dense}")


@pytest.mark.parametrize("stem", sorted(DETECTORS))
def test_committed_detector_contract(stem: str):
    session = _session(WEIGHTS / f"{stem}.onnx")
    _, side, (anchors, box_values) = DETECTORS[stem]
    (model_input,) = session.get_inputs()
    assert model_input.name == "input"
    assert model_input.shape == [1, side, side, 3]
    outputs = session.get_outputs()
    assert [o.name for o in outputs] == ["boxes", "scores"]
    assert outputs[0].shape == [1, anchors, box_values]
    assert outputs[1].shape == [1, anchors, 1]
    for name, x in _detector_inputs(side, 0).items():
        boxes, scores = session.run(None, {"input": x})
        assert boxes.dtype == scores.dtype == np.float32
        assert np.isfinite(boxes).all() and np.isfinite(scores).all(), name


@pytest.mark.parametrize("stem", sorted(DETECTORS))
def test_committed_detector_fires_on_people(stem: str):
    photos = _photos(8)
    if not photos:
        pytest.skip(f"no shared people photos under {PEOPLE}")
    session = _session(WEIGHTS / f"{stem}.onnx")
    _, side, _ = DETECTORS[stem]
    best = {}
    for name, x in _detector_inputs(side, len(photos)).items():
        best[name] = float(_sigmoid(session.run(None, {"input": x})[1]).max())
    people = [best[p.name] for p in photos]
    # MediaPipe's own threshold is 0.5: portraits clear it easily, a blank frame does not.
    # (Uniform noise is not asserted on: it scores close to 0.5 for the face detector.)
    assert np.median(people) > 0.7, best
    assert best["zeros"] < 0.5, best


# -- (d) building blocks: sparse decoding and layout mapping ------------------------------


def _encode_sparse(dense: np.ndarray, order, block_map, block_sizes, sparse_levels):
    """Independent reference encoder: the TFLite sparse format of ``dense``.

    Returns the stored values and, per traversal level, ``dense_size`` for a dense level
    or ``(segments, indices)`` for a CSR level; zero sub-blocks of CSR levels are dropped.
    """
    rank = dense.ndim
    # Split each blocked dimension d into (outer, inner) and put the inner ones last.
    split_shape, outer_axes, inner_axes = [], [], {}
    for d in range(rank):
        if d in block_map:
            size = block_sizes[block_map.index(d)]
            split_shape += [dense.shape[d] // size, size]
            outer_axes.append(len(split_shape) - 2)
            inner_axes[block_map.index(d)] = len(split_shape) - 1
        else:
            split_shape.append(dense.shape[d])
            outer_axes.append(len(split_shape) - 1)
    expanded = dense.reshape(split_shape).transpose(
        outer_axes + [inner_axes[k] for k in range(len(block_map))]
    )
    levels = expanded.transpose(order)
    meta = [
        ([0], []) if level in sparse_levels else levels.shape[level] for level in range(levels.ndim)
    ]
    values = []

    def walk(sub: np.ndarray, level: int) -> None:
        if level == levels.ndim:
            values.append(sub)
            return
        if level not in sparse_levels:
            for i in range(sub.shape[0]):
                walk(sub[i], level + 1)
            return
        segments, indices = meta[level]
        for i in range(sub.shape[0]):
            if np.any(sub[i] != 0):
                indices.append(i)
                walk(sub[i], level + 1)
        segments.append(len(indices))

    walk(levels, 0)
    return np.array(values, dense.dtype), meta


def _sparsity(order, block_map, meta):
    from alphacut.models.tflite import SparseDimension, Sparsity

    dims = tuple(
        SparseDimension(dense_size=m)
        if isinstance(m, int)
        else SparseDimension(segments=np.array(m[0]), indices=np.array(m[1]))
        for m in meta
    )
    return Sparsity(tuple(order), tuple(block_map), dims)


def _random_sparse(shape, block_map=(), block_sizes=(), seed: int = 0) -> np.ndarray:
    """A float16 array with about 70% zeros, zeroed a whole block at a time."""
    rng = np.random.default_rng(seed)
    dense = rng.standard_normal(shape).astype(np.float16)
    coarse = [
        s // block_sizes[block_map.index(d)] if d in block_map else s for d, s in enumerate(shape)
    ]
    keep = rng.random(coarse) > 0.7
    for d in block_map:
        keep = np.repeat(keep, block_sizes[block_map.index(d)], axis=d)
    return np.where(keep, dense, np.float16(0))


SPARSE_CASES = {
    # name: (shape, traversal order, block map, block sizes, CSR levels)
    "csr": ((5, 7), (0, 1), (), (), {1}),
    "csc": ((5, 7), (1, 0), (), (), {1}),
    "both_sparse": ((6, 4), (0, 1), (), (), {0, 1}),
    "conv_weight": ((8, 1, 1, 12), (0, 1, 2, 3), (), (), {3}),  # the MediaPipe layout
    "block_2x2": ((4, 6), (0, 1, 2, 3), (0, 1), (2, 2), {1}),
    "block_cols_only": ((3, 8), (0, 1, 2), (1,), (4,), {1}),
    "block_permuted": ((4, 6), (1, 0, 2, 3), (0, 1), (2, 3), {1}),
}


@pytest.mark.parametrize("case", sorted(SPARSE_CASES))
def test_densify_round_trip(case: str):
    from alphacut.models.tflite import densify

    shape, order, block_map, block_sizes, sparse_levels = SPARSE_CASES[case]
    dense = _random_sparse(shape, block_map, block_sizes)
    values, meta = _encode_sparse(dense, order, list(block_map), block_sizes, sparse_levels)
    assert values.size < dense.size or not sparse_levels
    decoded = densify(values, shape, _sparsity(order, block_map, meta))
    assert decoded.dtype == dense.dtype
    np.testing.assert_array_equal(decoded, dense)


@pytest.mark.parametrize("kind", [1, 2, 3])  # SparseIndexVector: Int32, Uint16, Uint8
def test_sparsity_flatbuffer_index_types(kind: int):
    """All three index vector types of the schema union decode to the same tensor."""
    import importlib

    flatbuffers = pytest.importorskip("flatbuffers")
    tflite = pytest.importorskip("tflite")
    from alphacut.models.tflite import _read_sparsity, densify

    shape, order, block_map, block_sizes, sparse_levels = SPARSE_CASES["block_2x2"]
    dense = _random_sparse(shape, block_map, block_sizes, seed=3)
    values, meta = _encode_sparse(dense, order, list(block_map), block_sizes, sparse_levels)

    name, dtype = {1: ("Int32Vector", np.int32), 2: ("Uint16Vector", np.uint16)}.get(
        kind, ("Uint8Vector", np.uint8)
    )
    vector_module = importlib.import_module(f"tflite.{name}")
    meta_module = importlib.import_module("tflite.DimensionMetadata")
    params_module = importlib.import_module("tflite.SparsityParameters")
    builder = flatbuffers.Builder(0)

    def index_vector(items) -> int:
        data = builder.CreateNumpyVector(np.asarray(items, dtype))
        vector_module.Start(builder)
        vector_module.AddValues(builder, data)
        return vector_module.End(builder)

    dim_tables = []
    for m in meta:
        if not isinstance(m, int):
            segments, indices = index_vector(m[0]), index_vector(m[1])
        meta_module.Start(builder)
        if isinstance(m, int):
            meta_module.AddFormat(builder, tflite.DimensionType.DENSE)
            meta_module.AddDenseSize(builder, m)
        else:
            meta_module.AddFormat(builder, tflite.DimensionType.SPARSE_CSR)
            meta_module.AddArraySegmentsType(builder, kind)
            meta_module.AddArraySegments(builder, segments)
            meta_module.AddArrayIndicesType(builder, kind)
            meta_module.AddArrayIndices(builder, indices)
        dim_tables.append(meta_module.End(builder))
    order_vec = builder.CreateNumpyVector(np.array(order, np.int32))
    block_vec = builder.CreateNumpyVector(np.array(block_map, np.int32))
    params_module.StartDimMetadataVector(builder, len(dim_tables))
    for table in reversed(dim_tables):
        builder.PrependUOffsetTRelative(table)
    dims_vec = builder.EndVector()
    params_module.Start(builder)
    params_module.AddTraversalOrder(builder, order_vec)
    params_module.AddBlockMap(builder, block_vec)
    params_module.AddDimMetadata(builder, dims_vec)
    builder.Finish(params_module.End(builder))
    params = tflite.SparsityParameters.GetRootAs(builder.Output(), 0)

    sparsity = _read_sparsity(params)
    assert sparsity.traversal_order == order and sparsity.block_map == block_map
    np.testing.assert_array_equal(densify(values, shape, sparsity), dense)


def test_densify_rejects_inconsistent_parameters():
    from alphacut.models.tflite import ConversionError, densify

    shape, order, block_map, block_sizes, sparse_levels = SPARSE_CASES["csr"]
    dense = _random_sparse(shape)
    values, meta = _encode_sparse(dense, order, [], (), sparse_levels)
    sparsity = _sparsity(order, block_map, meta)
    with pytest.raises(ConversionError, match="stored values"):
        densify(values[:-1], shape, sparsity)
    with pytest.raises(ConversionError, match="inconsistent"):
        densify(values, (5, 7, 1), sparsity)
    with pytest.raises(ConversionError, match="outside"):
        densify(values, (5, 3), sparsity)


def test_depth_to_space_dcr_is_tflite_order():
    """ONNX DepthToSpace(DCR) on NCHW equals TFLite's NHWC depth_to_space."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    helper, float_type = onnx.helper, onnx.TensorProto.FLOAT

    block, n, h, w, c_out = 2, 1, 3, 4, 5
    x = np.random.default_rng(0).standard_normal((n, h, w, block * block * c_out), np.float32)
    # TFLite: out[b, y*bs + i, x*bs + j, c] = in[b, y, x, (i*bs + j)*C_out + c]
    expected = (
        x.reshape(n, h, w, block, block, c_out)
        .transpose(0, 1, 3, 2, 4, 5)
        .reshape(n, h * block, w * block, c_out)
    )
    node = helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=block, mode="DCR")
    graph = helper.make_graph(
        [node],
        "d2s",
        [helper.make_tensor_value_info("x", float_type, None)],
        [helper.make_tensor_value_info("y", float_type, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": x.transpose(0, 3, 1, 2)})
    np.testing.assert_array_equal(got.transpose(0, 2, 3, 1), expected)


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        ([[1, 256, 256, 1]], ["probability"]),
        ([[1, 2304, 16], [1, 2304, 1]], ["boxes", "scores"]),
        ([[1, 10, 1], [1, 10, 4]], ["scores", "boxes"]),
        ([[1, 10, 4], [1, 10, 4]], ["Identity", "Identity_1"]),
    ],
)
def test_output_names(shapes, expected):
    from alphacut.models.tflite import _output_names

    assert _output_names(shapes, ["Identity", "Identity_1"][: len(shapes)]) == expected
