"""Matting benchmark: alphacut.refine vs pymatting closed-form, in the same run.

Alpha: for each alphamatting.com photo and both trimaps, ``estimate_alpha`` (ours) and
pymatting's ``estimate_alpha_cf`` (the closed-form matting rembg uses); SAD (sum of
|alpha - truth| / 1000) and MSE over the trimap's unknown region, median seconds.

Foreground: synthetic composites with known colours (photo i as foreground, photo i+1 as
background, the true alpha of photo i), ``estimate_foreground`` (ours, blur-fusion) vs
pymatting's ``estimate_foreground_ml``: error of alpha * F over pixels with 0 < alpha < 1.

Cold start: a fresh interpreter importing and calling each once, on a small image and, for
``refine``, on a 512x512 photo; with an empty numba cache (first use after installation).
Run: ``python benchmarks/matting.py``.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _data import load_matting, sad_mse  # noqa: E402


def _timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def _quiet(fn, *args):
    """Call fn without its stdout (pymatting prints ichol's diagonal-shift warnings)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def _alpha_table(cases) -> None:
    from pymatting import estimate_alpha_cf

    from alphacut.refine import estimate_alpha

    methods = {
        "ours: estimate_alpha": lambda img, tri: estimate_alpha(img, tri),
        "ours: solver=infoflow": lambda img, tri: estimate_alpha(img, tri, solver="infoflow"),
        "pymatting estimate_alpha_cf": lambda img, tri: _quiet(estimate_alpha_cf, img / 255.0, tri),
    }
    scores = {(m, k): [] for m in methods for k in ("trimap1", "trimap2")}
    seconds = {(m, k): [] for m in methods for k in ("trimap1", "trimap2")}
    print("alpha matting, per photo: SAD (MSE) and seconds")
    print(f"{'photo':<6} {'trimap':<8} {'unknown':>8}  " + "  ".join(f"{m:>34}" for m in methods))
    for case in cases:
        for key, trimap in case.trimaps.items():
            cells = []
            for name, method in methods.items():
                alpha, dt = _timed(method, case.image, trimap)
                sad, mse = sad_mse(alpha, case.alpha, trimap)
                scores[name, key].append((sad, mse))
                seconds[name, key].append(dt)
                cells.append(f"{sad:>8.2f} ({mse:.4f}) {dt:>6.2f} s")
            unknown = np.mean(trimap == 0.5)
            print(
                f"{case.name:<6} {key:<8} {unknown:>8.1%}  " + "  ".join(f"{c:>34}" for c in cells)
            )
    print()
    print(f"summary over {len(cases)} photos")
    header = (
        f"{'method':<30} {'trimap':<8} {'mean SAD':>9} {'mean MSE':>9} {'median s':>9}"
        f" {'SAD / pymatting':>16}"
    )
    print(header)
    print("-" * len(header))
    baseline = "pymatting estimate_alpha_cf"
    for key in ("trimap1", "trimap2"):
        base = np.array(scores[baseline, key])[:, 0].mean()
        for name in methods:
            s = np.array(scores[name, key])
            print(
                f"{name:<30} {key:<8} {s[:, 0].mean():>9.2f} {s[:, 1].mean():>9.4f} "
                f"{np.median(seconds[name, key]):>9.2f} {s[:, 0].mean() / base:>16.3f}"
            )
    print()


def _foreground_table(cases) -> None:
    from pymatting import estimate_foreground_ml

    from alphacut.refine import estimate_foreground

    methods = {
        "ours: estimate_foreground (blur-fusion)": lambda img, a: estimate_foreground(img, a),
        "pymatting estimate_foreground_ml": lambda img, a: estimate_foreground_ml(img, a),
        "none (the composite itself)": lambda img, a: img,
    }
    errors = {m: [] for m in methods}
    seconds = {m: [] for m in methods}
    for i, case in enumerate(cases):
        fg = case.image / 255.0
        other = cases[(i + 1) % len(cases)].image
        bg = cv2.resize(other, fg.shape[1::-1], interpolation=cv2.INTER_AREA) / 255.0
        alpha = case.alpha
        composite = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
        partial = (alpha > 0) & (alpha < 1)
        for name, method in methods.items():
            estimate, dt = _timed(method, composite, alpha)
            diff = alpha[partial, None] * (np.asarray(estimate)[partial] - fg[partial])
            errors[name].append(np.mean(diff**2))
            seconds[name].append(dt)
    print("colour decontamination on synthetic composites (known foreground colours)")
    header = f"{'method':<42} {'MSE of alpha*F x1e3':>20} {'median s':>9}"
    print(header)
    print("-" * len(header))
    for name in methods:
        print(f"{name:<42} {1e3 * np.mean(errors[name]):>20.3f} {np.median(seconds[name]):>9.3f}")
    print()


_SMALL = (
    "img = np.random.default_rng(0).random((64, 64, 3)); "
    "tri = np.full((64, 64), 0.5); tri[:8] = 0; tri[-8:] = 1"
)
_PHOTO = (
    "from skimage.data import astronaut; img = astronaut(); "
    "yy, xx = np.mgrid[:512, :512]; tri = ((yy - 300) ** 2 + (xx - 256) ** 2 < 200**2) * 1.0"
)
# name -> (input set-up, import, call, also run with pymatting's numba cache warm)
_COLD = {
    "ours: import alphacut.refine + refine, 512x512 photo": (
        _PHOTO,
        "from alphacut.refine import refine as f",
        "f(img, tri)",
        False,
    ),
    "ours: import alphacut.refine + estimate_alpha, 64x64": (
        _SMALL,
        "from alphacut.refine import estimate_alpha as f",
        "f(img, tri)",
        False,
    ),
    "ours: import + estimate_foreground, 64x64": (
        _SMALL,
        "from alphacut.refine import estimate_foreground as f",
        "f(img, tri)",
        False,
    ),
    "pymatting: import + estimate_alpha_cf, 64x64": (
        _SMALL,
        "from pymatting import estimate_alpha_cf as f",
        "f(img, tri)",
        True,
    ),
    "pymatting: import + estimate_foreground_ml, 64x64": (
        _SMALL,
        "from pymatting import estimate_foreground_ml as f",
        "f(img, tri)",
        True,
    ),
}


def _cold_start_table() -> None:
    import os
    import tempfile

    src = Path(__file__).resolve().parents[1] / "src"
    print("cold start: fresh interpreter, import + first call (numba loaded: was it imported?)")
    runs = []
    for name, (setup, imp, call, warm_too) in _COLD.items():
        if warm_too:
            runs.append((name + " (numba cache warm)", setup, imp, call, False))
        # An empty NUMBA_CACHE_DIR makes a numba JIT compile from scratch, as on first use
        # after installation; ours must not care.
        runs.append((name + " (numba cache empty)", setup, imp, call, True))
    for name, setup, imp, call, empty in runs:
        env = dict(os.environ)
        tmp = tempfile.TemporaryDirectory() if empty else None
        if tmp:
            env["NUMBA_CACHE_DIR"] = tmp.name
        code = (
            f"import sys, time; sys.path.insert(0, {str(src)!r}); t = time.perf_counter(); "
            f"import numpy as np; {setup}; {imp}; {call}; "
            "print(time.perf_counter() - t, 'numba' in sys.modules)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        if tmp:
            tmp.cleanup()
        value = out.stdout.strip().splitlines()[-1].split() if out.returncode == 0 else None
        if value:
            numba = "yes" if value[1] == "True" else "no"
            print(f"  {name:<76} {float(value[0]):6.2f} s  numba loaded: {numba}")
        else:
            print(f"  {name:<76} failed")
    print()


def main() -> None:
    cases = load_matting()
    _alpha_table(cases)
    _foreground_table(cases)
    _cold_start_table()


if __name__ == "__main__":
    main()
