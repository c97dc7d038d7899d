"""Ready ONNX Runtime sessions: a model name or file → one reused ``InferenceSession``.

Creating a session costs far more than running a small model, so sessions are cached per
(model file, execution providers) for the life of the process; :func:`clear_cache` drops
them (e.g. to free GPU memory).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from alphacut.models.specs import ModelSpec, get_spec

__all__ = ["LoadedModel", "load_model", "clear_cache", "choose_providers"]

# Preference order of `--device auto`: a GPU when there is one, the CPU always works.
_AUTO_ORDER = (
    "CUDAExecutionProvider",
    "CoreMLExecutionProvider",
    "DmlExecutionProvider",
    "CPUExecutionProvider",
)
_DEVICE_NAMES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "directml": "DmlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}


@dataclass(frozen=True)
class LoadedModel:
    """A session ready to run, the spec that says how, and the provider it runs on."""

    session: ort.InferenceSession
    spec: ModelSpec
    provider: str
    path: Path


_cache: dict[tuple[str, tuple[str, ...]], LoadedModel] = {}
_lock = threading.Lock()


def choose_providers(device: str = "auto") -> list[str]:
    """Execution providers for ``device`` among those this onnxruntime build offers.

    ``"auto"`` prefers CUDA, then CoreML/DirectML, then the CPU. A named device that is
    not available raises a ``ValueError`` listing what is.
    """
    available = ort.get_available_providers()
    if device == "auto":
        return [next(p for p in _AUTO_ORDER if p in available or p == "CPUExecutionProvider")]
    provider = _DEVICE_NAMES.get(device.lower(), device)
    if provider not in available:
        names = ", ".join(available)
        raise ValueError(f"device {device!r} is not available here (onnxruntime offers: {names})")
    return [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]


def _session_options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # onnxruntime's default spins one thread per core; capping at the physical core count
    # avoids oversubscription when several photos are processed in parallel.
    threads = int(os.environ.get("ALPHACUT_THREADS", "0")) or (os.cpu_count() or 1)
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


def _resolve(model: str | os.PathLike | ModelSpec) -> tuple[ModelSpec, Path]:
    spec = model if isinstance(model, ModelSpec) else get_spec(str(model))
    if spec.embedded:
        return spec, spec.embedded_path
    from alphacut.models import download  # network code only when a non-embedded model is used

    return spec, download.fetch(spec)


def load_model(model: str | ModelSpec = "selfie", *, device: str = "auto") -> LoadedModel:
    """A cached, ready session for ``model`` (a registry name or a :class:`ModelSpec`).

    Examples
    --------
    >>> loaded = load_model("selfie", device="cpu")
    >>> loaded.spec.layout, loaded.provider
    ('NHWC', 'CPUExecutionProvider')
    """
    spec, path = _resolve(model)
    providers = choose_providers(device)
    key = (str(path), tuple(providers))
    with _lock:
        if key not in _cache:
            session = ort.InferenceSession(
                str(path), sess_options=_session_options(), providers=providers
            )
            _cache[key] = LoadedModel(session, spec, session.get_providers()[0], path)
        return _cache[key]


def clear_cache() -> None:
    """Forget every cached session."""
    with _lock:
        _cache.clear()
