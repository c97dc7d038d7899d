"""Convert MediaPipe-style TFLite models to ONNX.

The converter covers the operator sets of MediaPipe's selfie segmentation models
(a MobileNetV3-like encoder with a small decoder) and of its BlazeFace / BlazePose
detectors (``face_detection_full_range_sparse``, ``pose_detection``):

``DEQUANTIZE`` (fp16 weights), ``DENSIFY`` (sparse constant weights), ``CONV_2D``,
``DEPTHWISE_CONV_2D``, ``RELU``, ``RELU6``, ``HARD_SWISH``, ``LOGISTIC``, ``ADD``,
``MUL``, ``AVERAGE_POOL_2D``, ``MEAN``, ``RESIZE_BILINEAR``, ``PAD``, ``RESHAPE``,
``CONCATENATION``, ``DEPTH_TO_SPACE`` and MediaPipe's custom
``Convolution2DTransposeBias``.

Internally the ONNX graph keeps every 4-D tensor in NCHW, because that is the layout
ONNX convolutions require; tensors of other ranks keep their TFLite layout. One
``Transpose`` at the input and at each 4-D output keeps the model's public interface
NHWC, exactly like the TFLite original.

Graph outputs get stable names: a single 4-D output is ``"probability"`` (the
segmentation models); a detector's pair of ``[1, anchors, K]`` outputs becomes
``"boxes"`` and ``"scores"`` (the one whose last dimension is 1); anything else keeps
its sanitised TFLite name.

``tflite`` (the flatbuffer parser) and ``onnx`` are conversion-time dependencies
only and are imported inside the functions that need them, so importing this
module costs nothing at inference time.

Examples
--------
Command line::

    python -m alphacut.models.tflite selfie_segmentation.tflite selfie_segmentation.onnx
"""

from __future__ import annotations

import argparse
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ConversionError",
    "SparseDimension",
    "Sparsity",
    "convert",
    "convert_bytes",
    "densify",
    "main",
]

OPSET = 17
# IR 8 is the newest that older onnxruntime builds (>= 1.14) still load.
IR_VERSION = 8
INPUT_NAME = "input"
OUTPUT_NAME = "probability"
BOXES_NAME = "boxes"
SCORES_NAME = "scores"

# TFLite tensor types (schema.fbs TensorType) that we may meet in constant buffers.
_TFLITE_DTYPES = {
    0: np.float32,
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    9: np.int8,
}

# From the TFLite schema: Padding and ActivationFunctionType enums.
_PADDING_SAME = 0
_ACT_NONE, _ACT_RELU, _ACT_RELU_N1_TO_1, _ACT_RELU6 = 0, 1, 2, 3

# MediaPipe's custom transposed convolution stores TfLitePadding, where 1 means SAME
# (0 is "unknown" and 2 is VALID) - a different numbering from the builtin enum above.
_MP_PADDING_SAME = 1

# NHWC -> NCHW and back.
_TO_NCHW = (0, 3, 1, 2)
_TO_NHWC = (0, 2, 3, 1)


class ConversionError(RuntimeError):
    """Raised when the TFLite model uses something the converter does not support."""


# eq=False: the index arrays make field-wise equality ambiguous.
@dataclass(frozen=True, eq=False)
class SparseDimension:
    """Storage of one traversal level of a TFLite sparse tensor (schema ``DimensionMetadata``).

    Parameters
    ----------
    dense_size : int
        Extent of the level when it is stored densely; ignored for CSR levels.
    segments, indices : numpy.ndarray, optional
        ``array_segments`` and ``array_indices`` of a ``SPARSE_CSR`` level; both
        ``None`` for a ``DENSE`` level.
    """

    dense_size: int = 0
    segments: np.ndarray | None = None
    indices: np.ndarray | None = None

    @property
    def is_sparse(self) -> bool:
        """Whether the level is ``SPARSE_CSR``."""
        return self.segments is not None


@dataclass(frozen=True)
class Sparsity:
    """A TFLite ``SparsityParameters`` table in plain Python.

    Parameters
    ----------
    traversal_order : tuple of int
        For a rank-``n`` tensor with ``k`` block dimensions, ``n + k`` entries: a
        permutation of the original dimensions ``0..n-1`` followed by one of the block
        dimensions ``n..n+k-1``.
    block_map : tuple of int
        For each block dimension, the original dimension it subdivides.
    dims : tuple of SparseDimension
        One entry per traversal level, in traversal order.
    """

    traversal_order: tuple[int, ...]
    block_map: tuple[int, ...]
    dims: tuple[SparseDimension, ...]


def densify(values: np.ndarray, shape: Sequence[int], sparsity: Sparsity) -> np.ndarray:
    """Expand the stored values of a TFLite sparse tensor into the dense array.

    Follows the semantics of TFLite's ``FormatConverter``: the levels of
    ``sparsity.dims`` are walked depth-first in traversal order, a ``DENSE`` level
    visiting every position and a ``SPARSE_CSR`` level only the positions listed in
    its ``indices`` slice ``segments[p]:segments[p + 1]`` (``p`` being the position
    reached in the level above); each leaf reached consumes the next stored value.

    Parameters
    ----------
    values : numpy.ndarray
        The stored (non-zero) values in traversal order, any shape; flattened.
    shape : sequence of int
        Shape of the dense tensor.
    sparsity : Sparsity
        How the values are laid out.

    Returns
    -------
    numpy.ndarray
        Array of ``shape`` and ``values.dtype``, zero where nothing is stored.

    Raises
    ------
    ConversionError
        If the sparsity description is inconsistent with ``shape`` or ``values``.
    """
    values = np.asarray(values).reshape(-1)
    shape = tuple(int(d) for d in shape)
    rank, order, dims = len(shape), tuple(sparsity.traversal_order), sparsity.dims
    levels, n_blocks = len(order), len(sparsity.block_map)
    if (
        len(dims) != levels
        or levels != rank + n_blocks
        or sorted(order[:rank]) != list(range(rank))
        or sorted(order[rank:]) != list(range(rank, levels))
        or any(not 0 <= d < rank for d in sparsity.block_map)
    ):
        raise ConversionError(f"inconsistent sparsity parameters for shape {shape}")
    block_sizes = [0] * n_blocks
    for level in range(rank, levels):
        if dims[level].is_sparse:
            raise ConversionError("sparse block dimensions are not supported")
        block_sizes[order[level] - rank] = dims[level].dense_size

    # Walk all levels at once, breadth-first but parent-major, which yields the leaves
    # in the same order as TFLite's depth-first recursion. `position` is TFLite's
    # prev_idx: the flat position within the current level's storage.
    position = np.zeros(1, np.int64)
    coords = np.zeros((1, 0), np.int64)
    for dim in dims:
        if dim.is_sparse:
            segments = np.asarray(dim.segments, np.int64)
            indices = np.asarray(dim.indices, np.int64)
            if position.size and position.max() + 1 >= segments.size:
                raise ConversionError("sparse segments array is too short")
            start, stop = segments[position], segments[position + 1]
            counts = stop - start
            if np.any(counts < 0) or (stop.size and stop.max() > indices.size):
                raise ConversionError("sparse segments do not index the indices array")
            parent = np.repeat(np.arange(position.size), counts)
            # Offset of each child within its parent's segment.
            offset = np.arange(parent.size) - np.repeat(np.cumsum(counts) - counts, counts)
            position = start[parent] + offset
            child = indices[position]
        else:
            size = dim.dense_size
            parent = np.repeat(np.arange(position.size), size)
            child = np.tile(np.arange(size, dtype=np.int64), position.size)
            position = position[parent] * size + child
        coords = np.column_stack([coords[parent], child])
    if position.size != values.size:
        raise ConversionError(
            f"sparsity describes {position.size} stored values, buffer holds {values.size}"
        )

    dense_index = np.zeros((position.size, rank), np.int64)
    for level in range(rank):
        dense_index[:, order[level]] = coords[:, level]
    for level in range(rank, levels):
        block = order[level] - rank
        target = sparsity.block_map[block]
        dense_index[:, target] = dense_index[:, target] * block_sizes[block] + coords[:, level]
    if np.any(dense_index < 0) or np.any(dense_index >= np.array(shape, np.int64)):
        raise ConversionError(f"sparse indices fall outside the dense shape {shape}")
    dense = np.zeros(shape, values.dtype)
    dense[tuple(dense_index.T)] = values
    return dense


def _read_sparsity(params: Any) -> Sparsity:
    """Decode a flatbuffer ``tflite.SparsityParameters`` into a :class:`Sparsity`."""
    import tflite

    # SparseIndexVector is a union: the type tag says which vector table to read.
    vector_classes = {
        tflite.SparseIndexVector.Int32Vector: tflite.Int32Vector,
        tflite.SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
        tflite.SparseIndexVector.Uint8Vector: tflite.Uint8Vector,
    }

    def index_vector(kind: int, table: Any) -> np.ndarray:
        cls = vector_classes.get(kind)
        if cls is None or table is None:
            raise ConversionError(f"unsupported sparse index vector type {kind}")
        vector = cls()
        vector.Init(table.Bytes, table.Pos)
        if vector.ValuesLength() == 0:  # ValuesAsNumpy() returns 0, not [], when empty
            return np.zeros(0, np.int64)
        return vector.ValuesAsNumpy().astype(np.int64)

    dims = []
    for i in range(params.DimMetadataLength()):
        meta = params.DimMetadata(i)
        if meta.Format() == tflite.DimensionType.DENSE:
            dims.append(SparseDimension(dense_size=int(meta.DenseSize())))
        elif meta.Format() == tflite.DimensionType.SPARSE_CSR:
            segments = index_vector(meta.ArraySegmentsType(), meta.ArraySegments())
            indices = index_vector(meta.ArrayIndicesType(), meta.ArrayIndices())
            dims.append(SparseDimension(segments=segments, indices=indices))
        else:
            raise ConversionError(f"unsupported sparse dimension format {meta.Format()}")
    order = params.TraversalOrderAsNumpy() if params.TraversalOrderLength() else []
    block_map = params.BlockMapAsNumpy() if params.BlockMapLength() else []
    return Sparsity(
        traversal_order=tuple(int(d) for d in order),
        block_map=tuple(int(d) for d in block_map),
        dims=tuple(dims),
    )


@dataclass
class _Graph:
    """Accumulates ONNX nodes and initializers while walking the TFLite graph."""

    fp16_weights: bool
    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)
    counter: int = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}__{self.counter}"

    def node(self, op_type: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        output = output or self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attrs))
        return output

    def const(self, array: np.ndarray, hint: str) -> str:
        """Add a constant; float weights are stored as fp16 plus a Cast when requested.

        The TFLite weights already are fp16, so storing them as fp16 loses nothing
        and halves the file; the Cast is folded by onnxruntime at session load.
        """
        from onnx import TensorProto, numpy_helper

        name = self.fresh(hint)
        if array.dtype.kind == "f" and self.fp16_weights:
            stored = name + "_fp16"
            self.initializers.append(numpy_helper.from_array(array.astype(np.float16), stored))
            return self.node("Cast", [stored], name, to=TensorProto.FLOAT)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name


def _same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow SAME padding; TF puts the odd pixel at the end, like ONNX SAME_UPPER."""
    out = -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


class _Converter:
    """Walks one TFLite subgraph and emits an equivalent ONNX graph."""

    def __init__(self, model: Any, fp16_weights: bool) -> None:
        import tflite

        self.tfl = tflite
        self.model = model
        self.sub = model.Subgraphs(0)
        self.g = _Graph(fp16_weights)
        self.names: dict[int, str] = {}  # TFLite tensor index -> ONNX value name (NCHW if 4-D)
        self.consts: dict[int, np.ndarray] = {}  # constant tensors, including DEQUANTIZE outputs
        self.builtin_names = {
            v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")
        }
        # TFLite tensor index -> public ONNX name, for graph outputs that are not 4-D.
        self.final_names: dict[int, str] = {}

    # -- tensor helpers -------------------------------------------------------------

    def shape(self, index: int) -> list[int]:
        return [int(d) for d in self.sub.Tensors(index).ShapeAsNumpy()]

    def constant(self, index: int) -> np.ndarray | None:
        if index in self.consts:
            return self.consts[index]
        tensor = self.sub.Tensors(index)
        buffer = self.model.Buffers(tensor.Buffer())
        if buffer is None or buffer.DataLength() == 0:
            return None
        dtype = _TFLITE_DTYPES.get(tensor.Type())
        if dtype is None:
            raise ConversionError(f"unsupported constant type {tensor.Type()} for tensor {index}")
        shape = self.shape(index)
        data = np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype=dtype)
        sparsity = tensor.Sparsity()
        if sparsity is None:
            array = data.reshape(shape)
        else:
            # The buffer holds only the stored values; the tensor's shape is the dense one.
            array = densify(data, shape, _read_sparsity(sparsity))
        self.consts[index] = array
        return array

    def value(self, index: int) -> str:
        """ONNX name of a tensor, materialising constants in the NCHW-compatible layout."""
        if index in self.names:
            return self.names[index]
        array = self.constant(index)
        if array is None:
            raise ConversionError(f"tensor {index} is used before it is produced")
        if array.ndim == 4:
            array = array.transpose(_TO_NCHW)
        elif array.ndim == 1 and array.size > 1:
            # A per-channel vector broadcasts against NHWC's last axis; in NCHW it must
            # sit on axis 1, which [C, 1, 1] achieves under numpy-style broadcasting.
            array = array.reshape(-1, 1, 1)
        elif array.ndim not in (0, 1):
            raise ConversionError(f"cannot place constant of shape {array.shape} in NCHW")
        name = self.g.const(array, "const")
        self.names[index] = name
        return name

    def activation(self, name: str, fused: int, output: str) -> str:
        if fused == _ACT_NONE:
            return self.g.node("Identity", [name], output)
        if fused == _ACT_RELU:
            return self.g.node("Relu", [name], output)
        if fused in (_ACT_RELU6, _ACT_RELU_N1_TO_1):
            lo, hi = (0.0, 6.0) if fused == _ACT_RELU6 else (-1.0, 1.0)
            bounds = [self.g.const(np.array(v, np.float32), "clip") for v in (lo, hi)]
            return self.g.node("Clip", [name, *bounds], output)
        raise ConversionError(f"unsupported fused activation {fused}")

    def options(self, op: Any, cls: type) -> Any:
        table = op.BuiltinOptions()
        opts = cls()
        opts.Init(table.Bytes, table.Pos)
        return opts

    # -- operators ------------------------------------------------------------------

    def convert_op(self, op: Any) -> None:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        # Newer schemas moved the code to a 32-bit field and keep a clamped copy in the
        # deprecated 8-bit one; the larger of the two is always the real code.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == self.tfl.BuiltinOperator.CUSTOM:
            name = code.CustomCode().decode()
        else:
            name = self.builtin_names.get(builtin, str(builtin))
        handler = getattr(self, f"op_{name}", None)
        if handler is None:
            raise ConversionError(f"unsupported operator {name}")
        inputs = [int(i) for i in op.InputsAsNumpy()]
        outputs = [int(i) for i in op.OutputsAsNumpy()]
        handler(op, inputs, outputs)

    def out_name(self, index: int) -> str:
        if index in self.final_names:
            # A graph output that needs no layout change is produced under its public name.
            self.names[index] = self.final_names[index]
        else:
            self.names[index] = self.g.fresh(_sanitise(self.sub.Tensors(index).Name().decode()))
        return self.names[index]

    def rank(self, index: int) -> int:
        return len(self.shape(index))

    def op_DEQUANTIZE(self, op: Any, ins: list[int], outs: list[int]) -> None:
        source = self.constant(ins[0])
        if source is None or source.dtype != np.float16:
            raise ConversionError("only fp16 -> float32 DEQUANTIZE of constants is supported")
        # Fold it: the consumer decides the layout, and _Graph.const re-adds the Cast.
        self.consts[outs[0]] = source

    def op_DENSIFY(self, op: Any, ins: list[int], outs: list[int]) -> None:
        # constant() already expands sparse tensors, so DENSIFY folds to the same array.
        source = self.constant(ins[0])
        if source is None:
            raise ConversionError("only DENSIFY of constant tensors is supported")
        self.consts[outs[0]] = source

    def _conv_common(
        self,
        ins: list[int],
        weight: np.ndarray,
        stride: tuple[int, int],
        dilation: tuple[int, int],
        padding: int,
    ) -> dict[str, Any]:
        _, height, width, _ = self.shape(ins[0])
        kh, kw = weight.shape[2], weight.shape[3]
        if padding == _PADDING_SAME:
            top, bottom = _same_pads(height, kh, stride[0], dilation[0])
            left, right = _same_pads(width, kw, stride[1], dilation[1])
        else:
            top = bottom = left = right = 0
        return {
            "kernel_shape": [kh, kw],
            "strides": list(stride),
            "dilations": list(dilation),
            "pads": [top, left, bottom, right],
        }

    def op_CONV_2D(self, op: Any, ins: list[int], outs: list[int]) -> None:
        opts = self.options(op, self.tfl.Conv2DOptions)
        weight = self.constant(ins[1]).transpose(0, 3, 1, 2)  # OHWI -> OIHW
        attrs = self._conv_common(
            ins,
            weight,
            (opts.StrideH(), opts.StrideW()),
            (opts.DilationHFactor(), opts.DilationWFactor()),
            opts.Padding(),
        )
        self._emit_conv(op, ins, outs, weight, attrs, opts.FusedActivationFunction())

    def op_DEPTHWISE_CONV_2D(self, op: Any, ins: list[int], outs: list[int]) -> None:
        opts = self.options(op, self.tfl.DepthwiseConv2DOptions)
        weight = self.constant(ins[1]).transpose(3, 0, 1, 2)  # 1HW(C*M) -> (C*M)1HW
        attrs = self._conv_common(
            ins,
            weight,
            (opts.StrideH(), opts.StrideW()),
            (opts.DilationHFactor(), opts.DilationWFactor()),
            opts.Padding(),
        )
        attrs["group"] = self.shape(ins[0])[3]
        self._emit_conv(op, ins, outs, weight, attrs, opts.FusedActivationFunction())

    def _emit_conv(
        self,
        op: Any,
        ins: list[int],
        outs: list[int],
        weight: np.ndarray,
        attrs: dict[str, Any],
        fused: int,
    ) -> None:
        args = [self.value(ins[0]), self.g.const(weight, "weight")]
        if len(ins) > 2 and ins[2] >= 0:
            args.append(self.g.const(self.constant(ins[2]), "bias"))
        out = self.out_name(outs[0])
        if fused == _ACT_NONE:
            self.g.node("Conv", args, out, **attrs)
        else:
            self.activation(self.g.node("Conv", args, **attrs), fused, out)

    def op_Convolution2DTransposeBias(self, op: Any, ins: list[int], outs: list[int]) -> None:
        padding, stride_w, stride_h = struct.unpack("<3i", op.CustomOptionsAsNumpy().tobytes())
        weight = self.constant(ins[1]).transpose(3, 0, 1, 2)  # OHWI -> IOHW
        bias = self.constant(ins[2])
        _, height, width, _ = self.shape(ins[0])
        _, out_h, out_w, _ = self.shape(outs[0])
        kh, kw = weight.shape[2], weight.shape[3]
        pads = [0, 0, 0, 0]
        if padding == _MP_PADDING_SAME:
            # Crop the full transposed-conv output down to the declared SAME output size,
            # taking the smaller half from the start as TensorFlow does.
            total_h = max(stride_h * (height - 1) + kh - out_h, 0)
            total_w = max(stride_w * (width - 1) + kw - out_w, 0)
            pads = [total_h // 2, total_w // 2, total_h - total_h // 2, total_w - total_w // 2]
        self.g.node(
            "ConvTranspose",
            [self.value(ins[0]), self.g.const(weight, "weight"), self.g.const(bias, "bias")],
            self.out_name(outs[0]),
            kernel_shape=[kh, kw],
            strides=[stride_h, stride_w],
            pads=pads,
            output_shape=[out_h, out_w],
        )

    def _unary(self, op_type: str, ins: list[int], outs: list[int]) -> None:
        self.g.node(op_type, [self.value(ins[0])], self.out_name(outs[0]))

    def op_RELU(self, op: Any, ins: list[int], outs: list[int]) -> None:
        self._unary("Relu", ins, outs)

    def op_RELU6(self, op: Any, ins: list[int], outs: list[int]) -> None:
        self.activation(self.value(ins[0]), _ACT_RELU6, self.out_name(outs[0]))

    def op_HARD_SWISH(self, op: Any, ins: list[int], outs: list[int]) -> None:
        # ONNX HardSwish is x * max(0, min(1, x / 6 + 0.5)) - the same function as TFLite's.
        self._unary("HardSwish", ins, outs)

    def op_LOGISTIC(self, op: Any, ins: list[int], outs: list[int]) -> None:
        self._unary("Sigmoid", ins, outs)

    def _binary(self, op_type: str, cls: type, op: Any, ins: list[int], outs: list[int]) -> None:
        fused = self.options(op, cls).FusedActivationFunction() if op.BuiltinOptions() else 0
        args = [self.value(ins[0]), self.value(ins[1])]
        out = self.out_name(outs[0])
        if fused == _ACT_NONE:
            self.g.node(op_type, args, out)
        else:
            self.activation(self.g.node(op_type, args), fused, out)

    def op_ADD(self, op: Any, ins: list[int], outs: list[int]) -> None:
        self._binary("Add", self.tfl.AddOptions, op, ins, outs)

    def op_MUL(self, op: Any, ins: list[int], outs: list[int]) -> None:
        self._binary("Mul", self.tfl.MulOptions, op, ins, outs)

    def op_AVERAGE_POOL_2D(self, op: Any, ins: list[int], outs: list[int]) -> None:
        opts = self.options(op, self.tfl.Pool2DOptions)
        _, height, width, _ = self.shape(ins[0])
        kh, kw = opts.FilterHeight(), opts.FilterWidth()
        sh, sw = opts.StrideH(), opts.StrideW()
        if (kh, kw) == (height, width) and opts.Padding() != _PADDING_SAME:
            # ReduceMean rather than GlobalAveragePool: onnxruntime's NCHWc layout pass
            # rewrites GlobalAveragePool into a kernel that drifted up to 2.6e-3 from
            # TFLite on the final probability; ReduceMean stays within 2e-4.
            pooled = self.g.node("ReduceMean", [self.value(ins[0])], axes=[2, 3], keepdims=1)
        else:
            pads = [0, 0, 0, 0]
            if opts.Padding() == _PADDING_SAME:
                top, bottom = _same_pads(height, kh, sh)
                left, right = _same_pads(width, kw, sw)
                pads = [top, left, bottom, right]
            # count_include_pad=0 matches TFLite, which averages only over real pixels.
            pooled = self.g.node(
                "AveragePool",
                [self.value(ins[0])],
                kernel_shape=[kh, kw],
                strides=[sh, sw],
                pads=pads,
                count_include_pad=0,
            )
        self.activation(pooled, opts.FusedActivationFunction(), self.out_name(outs[0]))

    def op_MEAN(self, op: Any, ins: list[int], outs: list[int]) -> None:
        axes = self.constant(ins[1])
        keep = self.options(op, self.tfl.ReducerOptions).KeepDims()
        rank = len(self.shape(ins[0]))
        if rank != 4 or not keep:
            raise ConversionError("MEAN is supported only on 4-D tensors with keep_dims")
        # Map NHWC axes onto the NCHW graph.
        nchw_axes = sorted(_TO_NHWC[int(a) % 4] for a in np.atleast_1d(axes))
        self.g.node(
            "ReduceMean", [self.value(ins[0])], self.out_name(outs[0]), axes=nchw_axes, keepdims=1
        )

    def op_RESIZE_BILINEAR(self, op: Any, ins: list[int], outs: list[int]) -> None:
        opts = self.options(op, self.tfl.ResizeBilinearOptions)
        if opts.AlignCorners():
            mode = "align_corners"
        elif opts.HalfPixelCenters():
            mode = "half_pixel"
        else:
            mode = "asymmetric"  # TF1's legacy sampling
        n, out_h, out_w, c = self.shape(outs[0])
        sizes = self.g.const(np.array([n, c, out_h, out_w], np.int64), "sizes")
        self.g.node(
            "Resize",
            [self.value(ins[0]), "", "", sizes],
            self.out_name(outs[0]),
            mode="linear",
            coordinate_transformation_mode=mode,
        )

    def op_PAD(self, op: Any, ins: list[int], outs: list[int]) -> None:
        paddings = self.constant(ins[1])
        if paddings is None:
            raise ConversionError("PAD needs constant paddings")
        paddings = np.asarray(paddings, np.int64).reshape(-1, 2)
        if len(paddings) == 4:
            paddings = paddings[list(_TO_NCHW)]  # rows follow the NCHW axes of the graph
        pads = np.concatenate([paddings[:, 0], paddings[:, 1]])  # ONNX: all begins, all ends
        self.g.node(
            "Pad",
            [self.value(ins[0]), self.g.const(pads, "pads")],
            self.out_name(outs[0]),
            mode="constant",
        )

    def op_RESHAPE(self, op: Any, ins: list[int], outs: list[int]) -> None:
        # Reshape flattens in memory order, so a 4-D input has to be back in NHWC first
        # (and a 4-D result moved to NCHW after) for the elements to land where TFLite
        # puts them. The output tensor's static shape is authoritative, whether the new
        # shape came as an input tensor or in ReshapeOptions.
        x = self.value(ins[0])
        if self.rank(ins[0]) == 4:
            x = self.g.node("Transpose", [x], perm=_TO_NHWC)
        out_shape = self.shape(outs[0])
        if self.rank(outs[0]) == 4:
            x = self.g.node("Reshape", [x, self.g.const(np.array(out_shape, np.int64), "shape")])
            self.g.node("Transpose", [x], self.out_name(outs[0]), perm=_TO_NCHW)
        else:
            shape = self.g.const(np.array(out_shape, np.int64), "shape")
            self.g.node("Reshape", [x, shape], self.out_name(outs[0]))

    def op_CONCATENATION(self, op: Any, ins: list[int], outs: list[int]) -> None:
        opts = self.options(op, self.tfl.ConcatenationOptions)
        rank = self.rank(outs[0])
        axis = opts.Axis() % rank
        if rank == 4:
            axis = _TO_NHWC[axis]  # NHWC axis -> its position in the NCHW graph
        args = [self.value(i) for i in ins]
        fused = opts.FusedActivationFunction()
        if fused == _ACT_NONE:
            self.g.node("Concat", args, self.out_name(outs[0]), axis=axis)
        else:
            self.activation(self.g.node("Concat", args, axis=axis), fused, self.out_name(outs[0]))

    def op_DEPTH_TO_SPACE(self, op: Any, ins: list[int], outs: list[int]) -> None:
        # TFLite splits the channel axis as (row offset, column offset, output channel),
        # which is ONNX's DCR ordering.
        block = self.options(op, self.tfl.DepthToSpaceOptions).BlockSize()
        self.g.node(
            "DepthToSpace",
            [self.value(ins[0])],
            self.out_name(outs[0]),
            blocksize=block,
            mode="DCR",
        )

    # -- whole graph ----------------------------------------------------------------

    def run(self) -> Any:
        from onnx import TensorProto, helper

        if self.model.SubgraphsLength() != 1:
            raise ConversionError("only single-subgraph models are supported")
        (in_index,) = [int(i) for i in self.sub.InputsAsNumpy()]
        out_indices = [int(i) for i in self.sub.OutputsAsNumpy()]
        in_shape = self.shape(in_index)
        out_shapes = [self.shape(i) for i in out_indices]
        if len(in_shape) != 4:
            raise ConversionError("expected an NHWC image input")
        tflite_names = [self.sub.Tensors(i).Name().decode() for i in out_indices]
        public = _output_names(out_shapes, tflite_names)
        if in_index in out_indices:
            raise ConversionError("the input is also an output")
        for index, shape, name in zip(out_indices, out_shapes, public, strict=True):
            if len(shape) != 4:
                self.final_names[index] = name

        self.names[in_index] = self.g.node("Transpose", [INPUT_NAME], "input_nchw", perm=_TO_NCHW)
        for i in range(self.sub.OperatorsLength()):
            self.convert_op(self.sub.Operators(i))
        for index, shape, name in zip(out_indices, out_shapes, public, strict=True):
            if index not in self.names:
                raise ConversionError(f"output {name!r} is never produced")
            if len(shape) == 4:
                self.g.node("Transpose", [self.names[index]], name, perm=_TO_NHWC)

        if public == [OUTPUT_NAME]:
            # The segmentation models' interface, kept exactly as first released so that
            # re-conversion reproduces the committed files byte for byte.
            outputs = [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, out_shapes[0])]
        else:
            outputs = [
                helper.make_tensor_value_info(
                    name, TensorProto.FLOAT, shape, doc_string=f"TFLite output {tflite!r}"
                )
                for name, shape, tflite in zip(public, out_shapes, tflite_names, strict=True)
            ]
        graph = helper.make_graph(
            self.g.nodes,
            self.sub.Name().decode() if self.sub.Name() else "tflite",
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, in_shape)],
            outputs,
            self.g.initializers,
        )
        return helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            ir_version=IR_VERSION,
            producer_name="alphacut.models.tflite",
        )


def _sanitise(name: str) -> str:
    return name.replace(";", "_").replace("/", "_")


def _output_names(shapes: list[list[int]], tflite_names: list[str]) -> list[str]:
    """Public ONNX names for the graph outputs, in TFLite order.

    TFLite exports call detector heads ``Identity`` / ``Identity_1``, which says nothing
    about what they hold, so the two layouts MediaPipe uses get descriptive names.
    """
    if len(shapes) == 1 and len(shapes[0]) == 4:
        return [OUTPUT_NAME]
    if (
        len(shapes) == 2
        and all(len(s) == 3 for s in shapes)
        and shapes[0][:2] == shapes[1][:2]
        and sorted(s[-1] == 1 for s in shapes) == [False, True]
    ):
        return [SCORES_NAME if s[-1] == 1 else BOXES_NAME for s in shapes]
    names = [_sanitise(n) for n in tflite_names]
    if len(set(names)) != len(names) or INPUT_NAME in names:
        raise ConversionError(f"cannot name outputs {tflite_names} uniquely")
    return names


def convert_bytes(data: bytes, *, fp16_weights: bool = True) -> Any:
    """Convert a TFLite flatbuffer held in memory to an ONNX model.

    Parameters
    ----------
    data : bytes
        Contents of a ``.tflite`` file.
    fp16_weights : bool, optional
        Store float weights as fp16 initializers followed by a ``Cast`` to float32.
        Lossless for models whose weights are already fp16, and half the size.

    Returns
    -------
    onnx.ModelProto
        A checked model (opset 17) with an NHWC float32 input named ``"input"``. A
        segmentation model has one NHWC output named ``"probability"``; a MediaPipe
        detector has ``"boxes"`` ``[1, anchors, K]`` and ``"scores"`` ``[1, anchors, 1]``
        (raw logits), in the TFLite output order.

    Raises
    ------
    ConversionError
        If the model uses an operator or configuration the converter does not handle.
    """
    import onnx
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    onnx_model = _Converter(model, fp16_weights).run()
    onnx_model.metadata_props.add(key="source_sha256", value=hashlib.sha256(data).hexdigest())
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def convert(tflite_path: str | Path, onnx_path: str | Path, *, fp16_weights: bool = True) -> Path:
    """Convert a ``.tflite`` file to an ``.onnx`` file.

    Parameters
    ----------
    tflite_path : str or Path
        Source TFLite model.
    onnx_path : str or Path
        Destination; parent directories are created as needed.
    fp16_weights : bool, optional
        See :func:`convert_bytes`.

    Returns
    -------
    Path
        The written ONNX file.
    """
    import onnx

    model = convert_bytes(Path(tflite_path).read_bytes(), fp16_weights=fp16_weights)
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, onnx_path)
    return onnx_path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m alphacut.models.tflite SRC DST``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        Process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m alphacut.models.tflite",
        description="Convert a MediaPipe segmentation or detection .tflite model to ONNX.",
    )
    parser.add_argument("src", type=Path, help="input .tflite file")
    parser.add_argument("dst", type=Path, help="output .onnx file")
    parser.add_argument(
        "--fp32-weights",
        action="store_true",
        help="store weights as float32 instead of fp16 (twice the size, same accuracy)",
    )
    args = parser.parse_args(argv)
    out = convert(args.src, args.dst, fp16_weights=not args.fp32_weights)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
