"""Save a screenshot of napari with the "Compare Methods" widget docked and its grid shown.

The green-screen sample is compared with every method, refined and unrefined, against its
true matte; the window (canvas, layer list and the docked widget with its table) is saved
as a PNG. Needs a display: on a headless machine run it under Xvfb, e.g.

    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/napari_screenshot.py -o compare.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("napari_compare.png"))
    parser.add_argument(
        "--edges",
        choices=("unrefined", "refined", "both"),
        default="both",
        help="which variants to compare (default: both)",
    )
    parser.add_argument("--size", type=int, nargs=2, default=(1600, 1000), metavar=("W", "H"))
    args = parser.parse_args()

    import napari
    from PIL import Image
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(title="alphacut: Compare Methods", show=True)
    viewer.window.resize(*args.size)
    app = QApplication.instance()
    viewer.open_sample("alphacut", "green_screen")
    _, widget = viewer.window.add_plugin_dock_widget("alphacut", "Compare Methods")
    widget._image.value = viewer.layers["green screen"]
    widget._truth.value = viewer.layers["green screen truth"]
    widget._refinement.value = args.edges

    start = time.perf_counter()
    widget.run()
    while widget.running:
        app.processEvents()
        time.sleep(0.01)
    if widget.last_result is None:
        raise SystemExit("the comparison did not finish; see the notifications above")
    print(f"compared in {time.perf_counter() - start:.1f} s: {widget.controls.status.value}")
    for _ in range(20):  # let the grid and the table settle before grabbing the window
        app.processEvents()
        time.sleep(0.02)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(viewer.screenshot(canvas_only=False, flash=False)).save(args.output)
    for row in widget.last_result.rows:
        pair = f"{row.first} vs {row.second}"
        print(f"{pair:<36} IoU {row.iou:.4f}  mean |Δα| {row.mean_abs_diff:.4f}")
    print(f"wrote {args.output.resolve()}")
    viewer.close()


if __name__ == "__main__":
    main()
