"""Time the CPU and CUDA execution providers on the GPU machine, through alphacut's loader.

Run from the repository root on a machine with ``onnxruntime-gpu`` and ``onnx``::

    python tools/gpu_check.py [--runs 20] [--json results.json]

It times, on every provider worth comparing (CPU with alphacut's thread setting, CPU with
onnxruntime's default threads, CUDA when offered):

- the embedded MediaPipe selfie model (1x256x256x3), loaded by name;
- a randomly initialised encoder-decoder of stacked 3x3 convolutions with about U²-Net's
  parameter count (~41 M, ~164 MB) at 320², built here with ``onnx.helper`` (no torch) and
  loaded by path, at batch 1 and batch 8.

and prints a table (load time, median and 90th percentile per run, images per second, the
largest difference from the CPU's output). It checks that ``--device auto`` picks CUDA
and that ``--device cuda`` really runs there. Exit status: 0 all good; 1 CUDA is offered
but did not run; 2 this onnxruntime offers no CUDA. Takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import onnxruntime as ort  # noqa: E402

from alphacut.models import session as sessions  # noqa: E402
from alphacut.models.specs import get_spec  # noqa: E402

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"


def build_u2net_sized(path: Path, size: int = 320, seed: int = 0) -> int:
    """Write a random-weight conv encoder-decoder of U²-Net's size; returns its parameters.

    Encoder: a stem, then five stages that halve the resolution (64 → 1024 channels);
    decoder: four 2x upsamplings with a 3x3 conv each, a last 2x upsampling and a 3x3 conv
    to one channel, then a sigmoid. He-initialised so activations stay finite.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    count = 0

    def conv(x: str, cin: int, cout: int, stride: int = 1, relu: bool = True) -> str:
        nonlocal count
        count += 1
        w = rng.standard_normal((cout, cin, 3, 3), dtype=np.float32) * np.sqrt(2 / (cin * 9))
        weights.append(numpy_helper.from_array(w.astype(np.float32), f"w{count}"))
        weights.append(numpy_helper.from_array(np.zeros(cout, np.float32), f"b{count}"))
        y = f"conv{count}"
        nodes.append(
            helper.make_node(
                "Conv", [x, f"w{count}", f"b{count}"], [y], pads=[1, 1, 1, 1], strides=[stride] * 2
            )
        )
        if relu:
            nodes.append(helper.make_node("Relu", [y], [y + "r"]))
            y += "r"
        return y

    def up(x: str) -> str:
        y = x + "u"
        nodes.append(helper.make_node("Resize", [x, "", "scales"], [y], mode="linear"))
        return y

    weights.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
    x, cin = conv("image", 3, 32), 32
    for cout, repeats in ((64, 2), (128, 2), (256, 3), (512, 3), (1024, 2)):
        x, cin = conv(x, cin, cout, stride=2), cout
        for _ in range(repeats):
            x = conv(x, cin, cin)
    for cout in (512, 256, 128, 64):
        x, cin = conv(up(x), cin, cout), cout
    x = conv(up(x), cin, 1, relu=False)
    nodes.append(helper.make_node("Sigmoid", [x], ["probability"]))
    graph = helper.make_graph(
        nodes,
        "u2net_sized",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1, size, size])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return sum(int(np.prod(w.dims)) for w in weights)


def time_runs(session, feed: dict, runs: int, warmup: int = 3) -> tuple[list[float], np.ndarray]:
    for _ in range(warmup):
        out = session.run(None, feed)[0]
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        out = session.run(None, feed)[0]
        seconds.append(time.perf_counter() - start)
    return seconds, out


def gpu_name() -> str:
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return result.stdout.strip() or result.stderr.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return f"nvidia-smi unavailable ({error})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per row (default 20)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    available = ort.get_available_providers()
    print(f"python {platform.python_version()}, onnxruntime {ort.__version__}")
    print(f"providers: {', '.join(available)}")
    print(f"gpu: {gpu_name()}")
    print(f"cpus: {os.cpu_count()}, alphacut threads: {sessions.default_threads()}")
    report: dict = {"onnxruntime": ort.__version__, "providers": available, "rows": []}
    status = 0 if CUDA in available else 2

    auto = sessions.load_model("selfie", device="auto")
    print(f"--device auto -> {auto.describe()}")
    report["auto"] = auto.provider
    if CUDA in available and auto.provider != CUDA:
        print("FAIL: CUDA is offered but --device auto did not run on it")
        status = 1
    sessions.clear_cache()

    # (label, device): alphacut's loader on the CPU and on CUDA, and onnxruntime's own
    # default thread count on the CPU, to check alphacut's thread setting does no harm.
    variants = [("cpu", "cpu"), ("cpu: ort's own threads", None)]
    if CUDA in available:
        variants.append(("cuda", "cuda"))
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "u2net_sized.onnx"
        start = time.perf_counter()
        params = build_u2net_sized(big)
        print(
            f"built {big.name}: {params / 1e6:.1f} M parameters, "
            f"{big.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - start:.1f} s\n"
        )
        cases = [
            ("selfie", "selfie", rng.random((1, 256, 256, 3), dtype=np.float32), args.runs * 3),
            ("u2net-sized", str(big), rng.random((1, 3, 320, 320), dtype=np.float32), args.runs),
            ("u2net-sized", str(big), rng.random((8, 3, 320, 320), dtype=np.float32), 3),
        ]
        reference: dict = {}
        header = (
            f"{'model':<12} {'device':<28} {'batch':>5} {'load s':>7} {'median ms':>10} "
            f"{'p90 ms':>8} {'img/s':>8} {'max|diff|':>10}"
        )
        print(header)
        print("-" * len(header))
        for name, model, data, runs in cases:
            for label, device in variants:
                sessions.clear_cache()
                start = time.perf_counter()
                try:
                    if device is None:
                        file = get_spec(model).embedded_path if model == "selfie" else model
                        options = sessions._session_options(0)  # 0: onnxruntime decides
                        session = ort.InferenceSession(str(file), options, providers=[CPU])
                        provider = CPU
                    else:
                        loaded = sessions.load_model(model, device=device)
                        session, provider = loaded.session, loaded.provider
                        label = f"{device}: {provider.removesuffix('ExecutionProvider')}"
                        if provider == CPU:
                            label += f" x{loaded.threads} threads"
                except (RuntimeError, ValueError) as error:
                    print(f"{name:<12} {label:<28} FAILED: {error}")
                    status = 1
                    continue
                load_s = time.perf_counter() - start
                if device == "cuda" and provider != CUDA:
                    status = 1
                feed = {session.get_inputs()[0].name: data}
                seconds, out = time_runs(session, feed, runs)
                key = (name, len(data))
                diff = (
                    float(np.abs(out - reference[key]).max()) if key in reference else float("nan")
                )
                reference.setdefault(key, out)
                median = statistics.median(seconds)
                p90 = sorted(seconds)[max(0, int(0.9 * len(seconds)) - 1)]
                row = dict(
                    model=name,
                    device=label,
                    provider=provider,
                    batch=len(data),
                    load_s=round(load_s, 3),
                    median_ms=round(median * 1e3, 2),
                    p90_ms=round(p90 * 1e3, 2),
                    images_per_s=round(len(data) / median, 1),
                    max_diff_vs_cpu=diff,
                )
                report["rows"].append(row)
                print(
                    f"{name:<12} {label:<28} {len(data):>5} {load_s:>7.2f} {median * 1e3:>10.2f} "
                    f"{p90 * 1e3:>8.2f} {len(data) / median:>8.1f} {diff:>10.2e}"
                )
    sessions.clear_cache()
    if status == 2:
        print("\nthis onnxruntime offers no CUDA: install onnxruntime-gpu in place of onnxruntime")
    report["status"] = status
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())
