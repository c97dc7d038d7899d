"""napari front end: the widgets and sample data that ``napari.yaml`` declares.

- "Remove Background" (:class:`RemoveBackgroundWidget`): one method on an image or stack.
- "Compare Methods" (:class:`CompareMethodsWidget`): all methods side by side, with
  agreement metrics and a disagreement map.
- Sample data: a person photo and a green-screen photo (File > Open Sample > alphacut).

The core (``alphacut`` outside this package) never imports napari; this package only
turns layers into the core's arrays and its results back into layers.
"""

from alphacut.napari._compare import CompareMethodsWidget
from alphacut.napari._remove import RemoveBackgroundWidget
from alphacut.napari._sample_data import green_screen_sample, person_sample

__all__ = [
    "CompareMethodsWidget",
    "RemoveBackgroundWidget",
    "green_screen_sample",
    "person_sample",
]
