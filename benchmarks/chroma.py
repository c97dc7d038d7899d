"""Green-screen keying: our soft chroma keyer against the classic binary HSV keyer.

Synthetic but faithful shots: each matting photo's subject, with its true foreground
colours (pymatting's ``estimate_foreground_ml`` on the true alpha), composited by its true
alpha over a green screen with a mild lighting gradient and sensor noise. Scores:

- SAD over the whole image, sum |alpha - true alpha| / 1000;
- green spill on edge pixels: mean of G - max(R, B) of the cut-out colours where the true
  alpha is in (0.1, 0.9) and the keyer kept the pixel (alpha > 0), in 0..255 units; and,
  since that mean goes negative for subjects with little green, also the mean of its
  positive part (the excess green a viewer sees as a fringe). The true foreground colours
  are printed as a reference row.

Our keyer runs with its default known-background refinement and, for comparison, with
``refine=0`` (the chroma passes alone). The baseline, in the same run, is ``cv2.inRange`` on
HSV with lower (35, 100, 100) and upper (85, 255, 255): the keyer of countless tutorials,
binary, with no despill.

    python benchmarks/chroma.py
"""

from __future__ import annotations

import sys
import time

import cv2
import numpy as np
from _data import load_matting
from pymatting import estimate_foreground_ml

from alphacut.methods.chroma import chroma, keyed_foreground


def green_screen_shot(image: np.ndarray, alpha: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    height, width = alpha.shape
    foreground = estimate_foreground_ml(image / 255.0, alpha)
    yy, xx = np.mgrid[:height, :width]
    # Brighter in the upper left, the way a screen lit from one side looks.
    light = 0.8 + 0.2 * (1 - (xx / width + yy / height) / 2)
    screen = np.stack([0.15 * light, 0.70 * light, 0.25 * light], axis=-1)
    shot = alpha[..., None] * foreground + (1 - alpha[..., None]) * screen
    shot = shot + rng.normal(0, 0.01, shot.shape)
    return (np.clip(shot, 0, 1) * 255).round().astype(np.uint8), foreground


def hsv_keyer(shot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hsv = cv2.cvtColor(shot, cv2.COLOR_RGB2HSV)
    screen = cv2.inRange(hsv, (35, 100, 100), (85, 255, 255))
    return 1 - screen.astype(np.float32) / 255, shot.astype(np.float32) / 255


def our_keyer(shot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    alpha = chroma(shot)
    return alpha, keyed_foreground(shot, alpha)


def our_keyer_chroma_only(shot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    alpha = chroma(shot, matting_iterations=0)
    return alpha, keyed_foreground(shot, alpha)


def spill(colours: np.ndarray, alpha: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(mean excess green, mean positive excess green) on kept edge pixels, 0..255 units."""
    edge = (truth > 0.1) & (truth < 0.9) & (alpha > 0)
    if not edge.any():
        return float("nan"), float("nan")
    excess = (colours[..., 1] - np.maximum(colours[..., 0], colours[..., 2]))[edge] * 255
    return float(excess.mean()), float(np.maximum(excess, 0).mean())


def main() -> int:
    cases = load_matting()
    keyers = {
        "HSV inRange (baseline)": hsv_keyer,
        "alphacut chroma, matting_iterations=0": our_keyer_chroma_only,
        "alphacut chroma": our_keyer,
    }
    results = {k: {"sad": [], "spill": [], "excess": [], "s": []} for k in keyers}
    truth_spill = []
    print(f"{len(cases)} synthetic green-screen shots from the matting photos")
    print(f"{'photo':<8}" + "".join(f"{k + ' SAD':>32}{'spill':>8}" for k in keyers))
    for index, case in enumerate(cases):
        shot, foreground = green_screen_shot(case.image, case.alpha, seed=index)
        truth_spill.append(spill(foreground, case.alpha, case.alpha))
        row = f"{case.name:<8}"
        for name, keyer in keyers.items():
            start = time.perf_counter()
            alpha, colours = keyer(shot)
            results[name]["s"].append(time.perf_counter() - start)
            sad = float(np.abs(alpha - case.alpha).sum() / 1000)
            mean_spill, excess = spill(colours, alpha, case.alpha)
            results[name]["sad"].append(sad)
            results[name]["spill"].append(mean_spill)
            results[name]["excess"].append(excess)
            row += f"{sad:>32.1f}{mean_spill:>8.1f}"
        print(row, flush=True)
    print()
    header = (
        f"{'keyer':<28}{'mean SAD':>10}{'spill G-max(R,B)':>18}{'excess green':>14}{'median s':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, scores in results.items():
        print(
            f"{name:<28}{np.mean(scores['sad']):>10.2f}{np.nanmean(scores['spill']):>18.2f}"
            f"{np.nanmean(scores['excess']):>14.2f}{np.median(scores['s']):>10.3f}"
        )
    truth = np.asarray(truth_spill)
    print(
        f"{'true foreground (ref.)':<28}{0:>10.2f}{np.nanmean(truth[:, 0]):>18.2f}"
        f"{np.nanmean(truth[:, 1]):>14.2f}"
    )
    base, ours = results["HSV inRange (baseline)"], results["alphacut chroma"]
    print(
        f"\nSAD ratio ours/baseline: {np.mean(ours['sad']) / np.mean(base['sad']):.3f} "
        f"(target <= 0.2); excess-green ratio: "
        f"{np.nanmean(ours['excess']) / np.nanmean(base['excess']):.3f} (target <= 0.333)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
