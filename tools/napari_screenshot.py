"""Save screenshots of napari with the alphacut widgets docked, as a user sees them.

- ``-o`` (always): "Compare Methods" on the green-screen sample, every method refined and
  unrefined against its true matte, with the grid of cut-outs and the table.
- ``--remove`` (optional): "Remove Background" on the person sample, twice: while it runs
  (``<name>-running.png``: the progress bar in the widget) and after, with one control's
  tooltip showing (``--tooltip``, default ``band``) and the cut-out over its checkerboard.

A tooltip is a window of its own, so these are grabbed from the screen, not the viewer.
Needs a display: on a headless machine run it under Xvfb, e.g.

    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/napari_screenshot.py \\
        -o compare.png --remove remove.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def _settle(app: Any, seconds: float = 0.4) -> None:
    """Let Qt lay out and paint (the grid, the table, a tooltip) before a grab."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.02)


def _grab(app: Any, window: Any, path: Path) -> None:
    """Save the screen's part under ``window`` (tooltips included) as ``path``."""
    frame = window.frameGeometry()
    screen = app.primaryScreen()
    pixmap = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    path.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path.resolve()}")


def _wait(app: Any, widget: Any) -> None:
    while widget.running:
        app.processEvents()
        time.sleep(0.01)
    if widget.last_result is None:
        raise SystemExit("the run did not finish; see the notifications above")


def remove_background(viewer: Any, app: Any, output: Path, tooltip: str) -> None:
    """Screenshots of Remove Background: running, then done with ``tooltip``'s tip shown."""
    from qtpy.QtCore import QPoint
    from qtpy.QtWidgets import QToolTip

    window = viewer.window._qt_window
    viewer.open_sample("alphacut", "person")
    _, widget = viewer.window.add_plugin_dock_widget("alphacut", "Remove Background")
    _settle(app)
    widget.run()
    # The grab once the core is into its steps: the bar has text and some fill.
    while widget.running and widget.controls.progress.value == 0:
        app.processEvents()
        time.sleep(0.005)
    _settle(app, 0.1)
    _grab(app, window, output.with_name(f"{output.stem}-running{output.suffix}"))
    _wait(app, widget)
    print(f"Remove Background: {widget.controls.status.value}")
    _settle(app)
    control = getattr(widget, f"_{tooltip}").native
    QToolTip.showText(control.mapToGlobal(QPoint(8, control.height())), control.toolTip(), control)
    _settle(app)
    _grab(app, window, output)
    QToolTip.hideText()


def compare_methods(viewer: Any, app: Any, output: Path, edges: str) -> None:
    """Screenshot of Compare Methods on the green-screen sample after its run."""
    viewer.open_sample("alphacut", "green_screen")
    _, widget = viewer.window.add_plugin_dock_widget("alphacut", "Compare Methods")
    widget._image.value = viewer.layers["green screen"]
    widget._truth.value = viewer.layers["green screen truth"]
    widget._refinement.value = edges

    start = time.perf_counter()
    widget.run()
    _wait(app, widget)
    print(f"compared in {time.perf_counter() - start:.1f} s: {widget.controls.status.value}")
    _settle(app)
    _grab(app, viewer.window._qt_window, output)
    for row in widget.last_result.rows:
        pair = f"{row.first} vs {row.second}"
        print(f"{pair:<36} IoU {row.iou:.4f}  mean |Δα| {row.mean_abs_diff:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("napari_compare.png"))
    parser.add_argument(
        "--edges",
        choices=("unrefined", "refined", "both"),
        default="both",
        help="which variants to compare (default: both)",
    )
    parser.add_argument(
        "--remove", type=Path, metavar="PNG", help="also screenshot Remove Background here"
    )
    parser.add_argument(
        "--tooltip",
        default="band",
        help="the Remove Background control whose tooltip shows (default: band)",
    )
    parser.add_argument("--size", type=int, nargs=2, default=(1600, 1000), metavar=("W", "H"))
    args = parser.parse_args()

    import napari
    from qtpy.QtWidgets import QApplication

    if args.remove is not None:
        viewer = napari.Viewer(title="alphacut: Remove Background", show=True)
        viewer.window.resize(*args.size)
        remove_background(viewer, QApplication.instance(), args.remove, args.tooltip)
        viewer.close()

    viewer = napari.Viewer(title="alphacut: Compare Methods", show=True)
    viewer.window.resize(*args.size)
    compare_methods(viewer, QApplication.instance(), args.output, args.edges)
    viewer.close()


if __name__ == "__main__":
    main()
