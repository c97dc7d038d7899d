"""Latency of the napari "Remove Background" widget: from pressing Run to updated layers.

Not a unit test: a measurement to run by hand (it needs a display; on a headless machine,
run it under Xvfb, e.g. ``xvfb-run -a -s "-screen 0 1600x1000x24" python
benchmarks/napari_latency.py``).

On a 1-megapixel photo, with the model loaded and the output layers already present (the
second and later runs, as a user re-running with new settings sees), it times the Run
button's click to the widget's ``done`` signal, which fires once the three layers hold
the new data; then, separately, how long the canvas takes to draw them. Between runs the
event loop settles for half a second (untimed), as it does before a person clicks again,
so one run's trailing redraws do not compete with the next run's work. The core's own
time (``remove_background``) is printed beside it, so the widget's overhead is visible.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import cv2
import numpy as np


def _photo(kind: str) -> np.ndarray:
    from alphacut.samples import green_screen_photo, person_photo

    photo = green_screen_photo() if kind == "chroma" else person_photo()
    # ~1 megapixel, keeping the sample's aspect ratio.
    scale = (1_000_000 / (photo.shape[0] * photo.shape[1])) ** 0.5
    size = (round(photo.shape[1] * scale), round(photo.shape[0] * scale))
    return cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per case")
    parser.add_argument(
        "--no-refined", action="store_true", help="skip the (slower) refined neural case"
    )
    args = parser.parse_args()

    import napari
    from qtpy.QtCore import QEventLoop
    from qtpy.QtWidgets import QApplication

    from alphacut import remove_background

    viewer = napari.Viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget("alphacut", "Remove Background")

    cases = [("chroma", "chroma", "default"), ("neural", "neural", "off")]
    if not args.no_refined:
        cases.append(("neural refined", "neural", "on"))

    finished: list[float] = []
    loop = QEventLoop()

    def on_done(result: object) -> None:
        finished.append(time.perf_counter())
        loop.quit()

    widget.done.connect(on_done)
    canvas = viewer.window._qt_viewer.canvas.native

    app = QApplication.instance()

    def settle(seconds: float = 0.5) -> None:
        # A person presses Run after seeing the last result, not the instant it is drawn:
        # let the work napari queues after an update (thumbnails, a second redraw on
        # software OpenGL) finish first, so each run times its own work only.
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.01)

    def press_run() -> tuple[float, float]:
        """Seconds to the layers being updated, then to the canvas having drawn them."""
        settle()
        finished.clear()
        start = time.perf_counter()
        widget.controls.run_button.native.click()
        # A blocking event loop, as in the running app (polling would compete for the CPU).
        if not finished:
            loop.exec()
        canvas.repaint()  # draws now, with the new layers
        drawn = time.perf_counter()
        return finished[0] - start, drawn - start

    rows = []
    load_before = os.getloadavg()[0]
    for label, method, refine in cases:
        photo = _photo(method)
        # Hide, not remove, the previous case's layers: removing every layer and adding new
        # ones crashes napari 0.9.2 + vispy 0.17 on Mesa's software GL (shown viewer only).
        for layer in viewer.layers:
            layer.visible = False
        layer = viewer.add_image(photo, name=label, rgb=True)
        widget._image.value = layer
        widget._method.value = method
        widget._refine.value = refine
        repeat = args.repeat if refine != "on" else max(3, args.repeat // 3)
        press_run()  # loads the model, creates the layers and compiles the shaders
        updated, drawn, worker, core = [], [], [], []
        for _ in range(repeat):
            u, d = press_run()
            updated.append(u)
            drawn.append(d)
            worker.append(widget.last_result.seconds)
        options = {"refine": {"on": True, "off": False}.get(refine)}
        for _ in range(repeat):
            start = time.perf_counter()
            remove_background(photo, method, **options)
            core.append(time.perf_counter() - start)
        megapixels = photo.shape[0] * photo.shape[1] / 1e6
        rows.append(
            (
                label,
                f"{photo.shape[1]}x{photo.shape[0]} ({megapixels:.2f} MP)",
                statistics.median(core),
                statistics.median(worker),
                statistics.median(u - w for u, w in zip(updated, worker, strict=True)),
                statistics.median(updated),
                statistics.median(drawn),
                repeat,
            )
        )
    viewer.close()
    load_after = os.getloadavg()[0]

    print()
    print(
        "Run pressed -> layers updated: medians in seconds; model loaded, layers present; "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before, {load_after:.1f} after"
    )
    print("  core only: remove_background alone; worker: core + cut-out, in the thread;")
    print("  GUI: the rest (thread start, signals, layer updates); +drawn: canvas repainted")
    header = (
        f"| {'case':<15} | {'photo':<19} | core only | worker | GUI   "
        "| to layers updated | +drawn | runs |"
    )
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for label, size, core, work, gui, updated, drawn, repeat in rows:
        print(
            f"| {label:<15} | {size:<19} | {core:9.3f} | {work:6.3f} | {gui:5.3f} "
            f"| {updated:17.3f} | {drawn:6.3f} | {repeat:4d} |"
        )


if __name__ == "__main__":
    main()
