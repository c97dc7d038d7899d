"""Big-photo benchmark: our full refinement vs closed-form + estimate_foreground_ml.

One alphamatting.com photo (the one whose trimap1 has closest to 12 % unknown pixels),
its trimap and its true alpha are upscaled to 1, 4 and 12 megapixels. Each method runs in
its own subprocess, capped at 10 minutes, reporting wall time and peak RSS:

* closed-form: pymatting ``estimate_alpha_cf`` on the upscaled trimap, then
  ``estimate_foreground_ml`` (what rembg's alpha matting does);
* ours: ``alphacut.refine.refine`` from a coarse alpha (the true alpha brought down to
  512 px on the long side and back up, as a network output would be): trimap, matting,
  feathering and colour decontamination.

SAD is the alpha error against the upscaled true alpha over the upscaled trimap's unknown
region, divided by the pixel-count ratio to the original photo, so that it is comparable
with benchmarks/matting.py. Run: ``python benchmarks/bigphoto.py [--sizes 1 4 12]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

TIME_LIMIT_S = 600
MEMORY_LIMIT_GB = 14.0  # a runaway solver must not take the shared machine down
COARSE_SIDE = 512


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def _worker(method: str, folder: Path) -> None:
    image = np.load(folder / "image.npy")
    start = time.perf_counter()
    if method == "cf":
        from pymatting import estimate_alpha_cf, estimate_foreground_ml

        trimap = np.load(folder / "trimap.npy")
        start = time.perf_counter()
        rgb = image / 255.0
        alpha = estimate_alpha_cf(rgb, trimap)
        estimate_foreground_ml(rgb, alpha)
        extra = {}
    else:
        from alphacut.refine import refine

        coarse = np.load(folder / "coarse.npy")
        start = time.perf_counter()
        result = refine(image, coarse)
        alpha = result.alpha
        extra = {
            "timings": result.timings,
            "unknown": float(np.mean(result.trimap == 0.5)),
        }
    seconds = time.perf_counter() - start
    np.save(folder / f"alpha_{method}.npy", np.round(np.clip(alpha, 0, 1) * 255).astype(np.uint8))
    print(json.dumps({"seconds": seconds, "peak_gb": _peak_rss_gb(), **extra}))


def _run(method: str, folder: Path) -> dict:
    """Run one method in a fresh interpreter; kill it at the time or memory limit."""
    import psutil

    cmd = [sys.executable, __file__, "--worker", method, "--folder", str(folder)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watched = psutil.Process(proc.pid)
    start, peak, why = time.perf_counter(), 0.0, None
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss / 1024**3)
        except psutil.NoSuchProcess:
            break
        if time.perf_counter() - start > TIME_LIMIT_S:
            why = f"did not finish in {TIME_LIMIT_S // 60} min"
        elif peak > MEMORY_LIMIT_GB:
            why = f"did not finish: killed above {MEMORY_LIMIT_GB:.0f} GB RSS"
        if why:
            proc.kill()
            proc.wait()
            return {"failed": why, "peak_gb": peak}
        time.sleep(0.05)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        return {"failed": f"did not finish: exit code {proc.returncode}", "peak_gb": peak}
    return json.loads(out.strip().splitlines()[-1])


def _prepare(case, megapixels: float, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    h, w = case.alpha.shape
    scale = np.sqrt(megapixels * 1e6 / (h * w))
    size = (round(w * scale), round(h * scale))
    image = cv2.resize(case.image, size, interpolation=cv2.INTER_CUBIC)
    trimap = cv2.resize(case.trimaps["trimap1"], size, interpolation=cv2.INTER_NEAREST)
    truth = np.clip(cv2.resize(case.alpha, size, interpolation=cv2.INTER_LINEAR), 0, 1)
    factor = COARSE_SIDE / max(h, w)
    small = cv2.resize(case.alpha, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
    np.save(folder / "image.npy", image)
    np.save(folder / "trimap.npy", trimap)
    np.save(folder / "coarse.npy", np.clip(coarse, 0, 1))
    return truth, trimap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 4, 12])
    parser.add_argument("--worker", choices=["ours", "cf"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.folder)
        return

    from _data import load_matting, sad_mse

    cases = load_matting()
    case = min(cases, key=lambda c: abs(np.mean(c.trimaps["trimap1"] == 0.5) - 0.12))
    base_pixels = case.alpha.size
    print(
        f"photo {case.name} ({case.alpha.shape[1]}x{case.alpha.shape[0]}), trimap1 upscaled: "
        f"{np.mean(case.trimaps['trimap1'] == 0.5):.1%} unknown; ours starts from the true "
        f"alpha at {COARSE_SIDE} px, upscaled; {os.cpu_count()} CPU cores"
    )
    header = (
        f"{'MP':>5} {'method':<34} {'seconds':>9} {'peak RSS GB':>11} {'SAD*':>7}  "
        f"{'unknown':>7}  notes"
    )
    print(header)
    print("-" * len(header))
    for megapixels in args.sizes:
        with tempfile.TemporaryDirectory(prefix="alphacut-bigphoto-") as tmp:
            folder = Path(tmp)
            truth, trimap = _prepare(case, megapixels, folder)
            ratio = truth.size / base_pixels
            for method, label in (
                ("cf", "pymatting closed-form + fg_ml"),
                ("ours", "alphacut refine (full)"),
            ):
                res = _run(method, folder)
                if "failed" in res:
                    print(
                        f"{megapixels:>5g} {label:<34} {'—':>9} {res['peak_gb']:>11.2f} "
                        f"{'—':>7}  {'':>7}  {res['failed']}"
                    )
                    continue
                alpha = np.load(folder / f"alpha_{method}.npy") / 255.0
                sad = sad_mse(alpha, truth, trimap)[0] / ratio
                unknown = res.get("unknown", float(np.mean(trimap == 0.5)))
                notes = ""
                if "timings" in res:
                    notes = " ".join(f"{k} {v:.2f}s" for k, v in res["timings"].items())
                print(
                    f"{megapixels:>5g} {label:<34} {res['seconds']:>9.2f} "
                    f"{res['peak_gb']:>11.2f} {sad:>7.2f}  {unknown:>7.1%}  {notes}",
                    flush=True,
                )
    print(
        "SAD*: alpha error vs the upscaled true alpha over the upscaled trimap1's unknown\n"
        "region, divided by the pixel ratio to the 0.5 MP original. Peak RSS is the whole\n"
        "subprocess (inputs loaded from .npy: uint8 image, float trimap or coarse alpha)."
    )


if __name__ == "__main__":
    main()
