"""Person segmentation against remove.bg's masks on the shared people photos.

Prints, per method, mean IoU (alpha ≥ 0.5 vs the mask), mean MAE of the soft alpha, and
median seconds per photo, all from one run. The baseline row is OpenCV's GrabCut from the
automatic rectangle (``alphacut.methods.grabcut.grabcut`` with no box), the classic tool-free
way to cut a subject out; the ``grabcut`` rows are the method as users get it, seeded by the
person model (``alphacut.api.model_seeds``).

    python benchmarks/people.py [--limit N] [--rows "neural,neural+refine,grabcut,auto"]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

import alphacut
from alphacut.convert import MASK_THRESHOLD
from alphacut.methods.grabcut import grabcut
from alphacut.models import load_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "people"

# A row: photo -> (alpha, the method that ran).
Row = Callable[[np.ndarray], tuple[np.ndarray, str]]


def _core(**options) -> Row:
    def run(photo: np.ndarray) -> tuple[np.ndarray, str]:
        matte = alphacut.remove_background(photo, device="cpu", **options)
        return matte.alpha, matte.method

    return run


def _automatic_box(photo: np.ndarray) -> tuple[np.ndarray, str]:
    return grabcut(photo), "grabcut"


# "auto (selfie only)" is auto as it runs where no general model is installed; "auto"
# picks the best installed model (isnet-imgly once imported).
ROWS: dict[str, Row] = {
    "baseline: GrabCut box": _automatic_box,
    "neural": _core(method="neural", model="selfie", refine=False),
    "neural+refine": _core(method="neural", model="selfie", refine=True),
    "grabcut": _core(method="grabcut", refine=False),
    "grabcut+refine": _core(method="grabcut", refine=True),
    "auto (selfie only)": _core(method="auto", model="selfie"),
    "isnet-imgly": _core(method="neural", model="isnet-imgly", refine=False),
    "auto": _core(method="auto"),
}


def load_pairs(limit: int | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    pairs = []
    images = sorted((DATA / "image").glob("*.jpg"), key=lambda p: int(p.stem))
    for path in images[:limit]:
        photo = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        mask = Image.open(DATA / "mask" / f"{path.stem}.png").convert("L")
        # Many masks are smaller than their photo, same aspect: nearest keeps them binary.
        mask = mask.resize((photo.shape[1], photo.shape[0]), Image.NEAREST)
        pairs.append((path.name, photo, np.asarray(mask) >= 128))
    return pairs


def score(alpha: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    predicted = alpha >= MASK_THRESHOLD
    union = np.logical_or(predicted, truth).sum()
    iou = np.logical_and(predicted, truth).sum() / union if union else 1.0
    return float(iou), float(np.abs(alpha - truth).mean())


def frame_kept(alpha: np.ndarray, truth: np.ndarray, inset: float = 0.05) -> float | None:
    """Share of the subject's pixels in the frame strip that ``alpha`` keeps.

    The strip is what GrabCut's automatic box leaves outside (``inset`` of each side);
    ``None`` where the subject does not touch the photo's edge.
    """
    height, width = truth.shape
    edge = np.ones_like(truth)
    edge[1:-1, 1:-1] = False
    if not (truth & edge).any():
        return None
    dy, dx = max(1, round(height * inset)), max(1, round(width * inset))
    strip = np.ones_like(truth)
    strip[dy : height - dy, dx : width - dx] = False
    subject = truth & strip
    return float((subject & (alpha >= MASK_THRESHOLD)).sum() / max(1, subject.sum()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to run")
    args = parser.parse_args(argv)
    if not (DATA / "image").is_dir():
        print(f"people photos not found at {DATA}; nothing to measure", file=sys.stderr)
        return 2
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows: {', '.join(unknown)} (known: {', '.join(ROWS)})")

    pairs = load_pairs(args.limit)
    load_model("selfie", device="cpu")  # session creation is not part of per-photo time
    alphacut.remove_background(pairs[0][1], method="neural", refine=False)  # warm caches
    print(f"{len(pairs)} photos from {DATA} (truth: remove.bg masks)")
    touching = sum(frame_kept(truth, truth) is not None for _, _, truth in pairs)
    print(
        f"frame kept: mean share of the subject's pixels in the outer 5 % kept, over the "
        f"{touching} photos whose subject touches the edge (1.0 = none lost)"
    )
    header = (
        f"{'method':<22}{'mean IoU':>10}{'mean MAE':>10}{'frame kept':>12}{'median s':>10}  picked"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ious, maes, kept, seconds, picked = [], [], [], [], {}
        for _name, photo, truth in pairs:
            start = time.perf_counter()
            alpha, method = ROWS[row](photo)
            seconds.append(time.perf_counter() - start)
            iou, mae = score(alpha, truth)
            ious.append(iou)
            maes.append(mae)
            share = frame_kept(alpha, truth)
            if share is not None:
                kept.append(share)
            picked[method] = picked.get(method, 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(picked.items()))
        print(
            f"{row:<22}{np.mean(ious):>10.4f}{np.mean(maes):>10.4f}"
            f"{np.mean(kept) if kept else float('nan'):>12.3f}"
            f"{statistics.median(seconds):>10.3f}  {summary}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
