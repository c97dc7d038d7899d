"""Ready ONNX Runtime sessions: a model name or file → one reused ``InferenceSession``.

Creating a session costs far more than running a small model, so sessions are cached per
(model file, execution providers, threads): the :data:`CACHE_SIZE` used last, so that a
long session switching models (napari) does not keep every model it ever ran in memory;
:func:`clear_cache` drops them all (e.g. to free GPU memory). A model is named by its row
in the table, given as a :class:`ModelSpec`, or given as a path to any ``.onnx`` file,
whose spec is then guessed from its input shape
(:func:`alphacut.models.specs.spec_from_shape`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from alphacut.models.specs import MODEL_SPECS, ModelSpec, get_spec, spec_from_shape

__all__ = [
    "CACHE_SIZE",
    "available_devices",
    "LoadedModel",
    "load_model",
    "clear_cache",
    "choose_providers",
    "default_threads",
    "usable_cpus",
    "run_batch",
]

logger = logging.getLogger("alphacut")

CPU = "CPUExecutionProvider"
# Preference order of `--device auto`: a GPU when there is one, the CPU always works.
# TensorRT is never picked automatically: building its engine takes minutes.
_AUTO_ORDER = (
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "CoreMLExecutionProvider",
    "DmlExecutionProvider",
    CPU,
)
_DEVICE_NAMES = {
    "cpu": CPU,
    "cuda": "CUDAExecutionProvider",
    "gpu": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "directml": "DmlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}

Provider = str | tuple[str, dict]


@dataclass(frozen=True)
class LoadedModel:
    """A session ready to run, the spec that says how, and the provider it runs on.

    Made by :func:`load_model`, which caches them; there is no need to build one by hand.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        The loaded network.
    spec : ModelSpec
        Input size, layout, normalisation and activation to use it with.
    provider : str
        The execution provider that runs it, e.g. ``"CPUExecutionProvider"``.
    path : pathlib.Path
        The model file.
    threads : int
        Intra-op threads of the CPU provider; 0 for ONNX Runtime's own default.
    """

    session: ort.InferenceSession
    spec: ModelSpec
    provider: str
    path: Path
    threads: int = 0

    @property
    def batch_size(self) -> int | None:
        """The batch size the model's input is fixed at; ``None`` when any size goes."""
        dim = self.session.get_inputs()[0].shape[0]
        return dim if isinstance(dim, int) and dim > 0 else None

    def describe(self) -> str:
        """One line for the user, e.g. ``"u2net on CUDAExecutionProvider"``.

        Returns
        -------
        str
            Model name and provider, with the thread count on the CPU.
        """
        where = self.provider
        if self.provider == CPU and self.threads:
            where += f", {self.threads} thread{'s' if self.threads > 1 else ''}"
        return f"{self.spec.name} on {where}"


# How many sessions stay loaded, least recently used dropped first. One photo's `auto` run
# can use four: the chosen model, the person model and the two person detectors (each
# photo uses them again, so they are never the least recent in a batch).
CACHE_SIZE = 4

# (model file, providers, threads) -> its session, and the LoadedModel of each spec run on
# it (a file given with different --model-* options shares one session); least recently
# used first.
_cache: OrderedDict[tuple, tuple[ort.InferenceSession, dict]] = OrderedDict()
_lock = threading.Lock()


def available_devices() -> list[str]:
    """The device names a front end should offer: ``auto``, ``cpu``, and each accelerator
    this onnxruntime has.

    A CPU-only onnxruntime (the default install) offers no GPU, and choosing "cuda" there
    would only fail at the run; so a device is listed only when
    ``onnxruntime.get_available_providers()`` has its provider. Names are the short ones
    :func:`choose_providers` accepts, the first of each provider's aliases.

    Returns
    -------
    list of str
        ``["auto", "cpu", ...]``.

    Examples
    --------
    >>> available_devices()[:2]
    ['auto', 'cpu']
    """
    available = set(ort.get_available_providers())
    choices = ["auto", "cpu"]
    seen = {CPU}
    for short, provider in _DEVICE_NAMES.items():
        if provider in available and provider not in seen:
            seen.add(provider)
            choices.append(short)
    return choices


def choose_providers(device: str = "auto") -> list[Provider]:
    """Execution providers for ``device`` among those this onnxruntime build offers.

    ``"auto"`` prefers CUDA, then ROCm, CoreML and DirectML, then the CPU. A device is a
    short name (``cpu``, ``cuda``, ``coreml``, ``directml``, ``tensorrt``, ...) or a full
    provider name, optionally with a device index (``cuda:1``). A named device that is not
    available raises a ``ValueError`` listing what is. The CPU is always appended as the
    fallback for operators the accelerator lacks.

    Parameters
    ----------
    device : str
        ``"auto"``, a short name or a provider name, with an optional ``:index``.

    Returns
    -------
    list
        Provider names, or ``(name, {"device_id": index})`` for an indexed device, in the
        order ONNX Runtime should try them; ``"CPUExecutionProvider"`` last.

    Raises
    ------
    ValueError
        The device is not offered by this onnxruntime build, or its index is not a number.

    Examples
    --------
    >>> choose_providers("cpu")
    ['CPUExecutionProvider']
    """
    available = ort.get_available_providers()
    name, _, index = device.partition(":")
    if name.lower() == "auto":
        best = next(p for p in _AUTO_ORDER if p in available or p == CPU)
        return [best] if best == CPU else [best, CPU]
    provider = _DEVICE_NAMES.get(name.lower(), name)
    if provider not in available:
        offered = ", ".join(available)
        hint = ""
        if provider == "CUDAExecutionProvider":
            hint = "; for CUDA install onnxruntime-gpu in place of onnxruntime (alphacut[gpu])"
        raise ValueError(
            f"device {device!r} is not available here (onnxruntime offers: {offered}){hint}"
        )
    entry: Provider = provider
    if index:
        if not index.isdigit():
            raise ValueError(f"device {device!r}: the index after ':' must be a number")
        entry = (provider, {"device_id": int(index)})
    return [entry] if provider == CPU else [entry, CPU]


def default_threads() -> int:
    """Intra-op threads for CPU inference: ``$ALPHACUT_THREADS``, else :func:`usable_cpus`.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValueError
        When ``ALPHACUT_THREADS`` is set but not an integer.
    """
    configured = os.environ.get("ALPHACUT_THREADS", "").strip()
    if configured:
        return max(1, int(configured))
    return usable_cpus()


def usable_cpus() -> int:
    """The CPUs this process may really use: the default threads of a session, and the
    default number of a batch's worker processes.

    That is the smallest of: the CPUs in its affinity mask, the container's CPU quota
    (cgroups), and the physical cores. Convolutions gain nothing from hyper-threads, and a
    thread count above the quota makes threads wait for each other at every layer; more
    worker processes than that only wait for each other, each holding a model session and
    a photo. ``$ALPHACUT_THREADS`` plays no part (it sets the threads of each process).

    Returns
    -------
    int
        At least 1.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    for limit in (_cgroup_cpu_limit(), _physical_cores()):
        if limit:
            cpus = min(cpus, limit)
    return max(1, cpus)


def _cgroup_cpu_limit() -> int | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]  # cgroup v2
    except (OSError, ValueError):
        try:
            base = Path("/sys/fs/cgroup/cpu")  # cgroup v1
            quota = (base / "cpu.cfs_quota_us").read_text().strip()
            period = (base / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1") or not period.isdigit() or int(period) == 0:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def _physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        pass
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    cores, physical = set(), "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            cores.add((physical, value.strip()))
    return len(cores) or None


def _session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # onnxruntime warns that shape operators stay on the CPU for nearly every model on a
    # GPU; a provider that failed to start is detected below instead.
    options.log_severity_level = 3
    return options


def _looks_like_path(model: str) -> bool:
    return model.lower().endswith(".onnx") or "/" in model or os.sep in model


def _resolve(model: str | os.PathLike | ModelSpec) -> tuple[ModelSpec | None, Path]:
    """The spec (``None``: guess it from the file) and the verified local file."""
    if isinstance(model, ModelSpec):
        spec = model
    elif isinstance(model, os.PathLike) or _looks_like_path(model):
        path = Path(model).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
        path = path.resolve()
        # A file named like a row of the table (a copy of u2net.onnx, say) is run the way
        # that row says; its checksum is not enforced, it may be the user's own fine-tune.
        known = next((s for s in MODEL_SPECS.values() if s.file == path.name), None)
        if known is None:
            return None, path
        return replace(known, embedded=False, location=path, sha256=None, md5=None), path
    else:
        spec = get_spec(str(model))
    if spec.embedded:
        return spec, spec.embedded_path
    from alphacut.models import download  # network code only when a non-embedded model is used

    return spec, download.fetch(spec)


def _provider_name(provider: Provider) -> str:
    return provider if isinstance(provider, str) else provider[0]


def _provider_key(providers: list[Provider]) -> tuple:
    return tuple(
        p if isinstance(p, str) else (p[0], tuple(sorted(p[1].items()))) for p in providers
    )


def _create_session(
    path: Path, providers: list[Provider], threads: int, device: str
) -> ort.InferenceSession:
    try:
        session = ort.InferenceSession(
            str(path), sess_options=_session_options(threads), providers=providers
        )
    except Exception as error:  # onnxruntime's own exception types vary by build
        raise RuntimeError(f"cannot load model file {path}: {error}") from error
    wanted, got = _provider_name(providers[0]), session.get_providers()[0]
    if got != wanted:
        # onnxruntime silently falls back to the CPU when, e.g., the CUDA libraries it
        # needs are missing: an explicit request for a device must not run elsewhere.
        if device.lower() != "auto":
            raise RuntimeError(
                f"device {device!r}: onnxruntime could not start {wanted} (its libraries, "
                f"e.g. CUDA/cuDNN, are missing or do not match this build); use --device "
                f"cpu or --device auto"
            )
        logger.warning("%s could not start; running on %s", wanted, got)
    return session


def load_model(
    model: str | os.PathLike | ModelSpec = "selfie", *, device: str = "auto"
) -> LoadedModel:
    """A cached, ready session for ``model``.

    The :data:`CACHE_SIZE` sessions used last are kept; loading one more drops the least
    recently used (a caller that still holds its ``LoadedModel`` keeps it alive).

    Parameters
    ----------
    model : str, path or ModelSpec
        A name from :data:`alphacut.models.MODEL_SPECS` (downloaded and verified on first
        use), a path to an ``.onnx`` file (spec guessed from its input shape), or a spec
        (e.g. from :func:`alphacut.models.specs.spec_from_onnx` with overrides).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... (see :func:`choose_providers`).

    Returns
    -------
    LoadedModel
        ``provider`` says where it actually runs; ``describe()`` says it in words.

    Raises
    ------
    KeyError
        Unknown model name.
    FileNotFoundError
        A model path that does not exist.
    alphacut.models.download.ModelDownloadError
        A model that is not cached and cannot be downloaded; ``ChecksumError`` (a subclass)
        when its file does not match the pinned checksum; it is then never loaded.
    ValueError, RuntimeError
        The device is not available, or its provider failed to start.

    Examples
    --------
    >>> loaded = load_model("selfie", device="cpu")
    >>> loaded.spec.layout, loaded.provider
    ('NHWC', 'CPUExecutionProvider')
    """
    spec, path = _resolve(model)
    providers = choose_providers(device)
    threads = default_threads()
    key = (str(path), _provider_key(providers), threads)
    with _lock:
        entry = _cache.get(key)
        if entry is not None:
            _cache.move_to_end(key)
            if spec in entry[1]:
                return entry[1][spec]
        else:
            # Make room first, so the old session is freed before the new one is made.
            while len(_cache) >= max(1, CACHE_SIZE):
                _cache.popitem(last=False)
            entry = _cache[key] = (_create_session(path, providers, threads, device), {})
        session, by_spec = entry
        resolved = spec or spec_from_shape(
            session.get_inputs()[0].shape, name=path.stem, file=path.name, location=path
        )
        loaded = by_spec[spec] = LoadedModel(
            session, resolved, session.get_providers()[0], path, threads
        )
    logger.info("model %s", loaded.describe())
    return loaded


def run_batch(loaded: LoadedModel, batch: np.ndarray, *, max_batch: int = 8) -> list[np.ndarray]:
    """All outputs of the model for a batch of input tensors, stacked along the batch axis.

    The batch goes through in chunks of ``max_batch`` when the model takes any batch size
    (fewer calls, better use of a GPU), else in chunks of the size it is fixed at (one at a
    time for most exports).

    Parameters
    ----------
    loaded : LoadedModel
        The model, from :func:`load_model`.
    batch : ndarray
        float32 input tensors stacked on axis 0 (as
        :func:`~alphacut.methods.neural.preprocess` makes them, one each); for a model
        fixed at batch size n, the length must be a multiple of n.
    max_batch : int
        Most tensors per call when the model takes any batch size.

    Returns
    -------
    list of ndarray
        Every output of the model, each with the whole batch along axis 0.
    """
    name = loaded.session.get_inputs()[0].name
    step = loaded.batch_size or max_batch
    results = [
        loaded.session.run(None, {name: batch[start : start + step]})
        for start in range(0, len(batch), step)
    ]
    if len(results) == 1:
        return results[0]
    return [np.concatenate([r[k] for r in results]) for k in range(len(results[0]))]


def clear_cache() -> None:
    """Forget every cached session."""
    with _lock:
        _cache.clear()
