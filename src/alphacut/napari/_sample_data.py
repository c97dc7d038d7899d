"""File > Open Sample > alphacut: the photos of :mod:`alphacut.samples` as layers."""

from __future__ import annotations

from typing import Any

from alphacut.samples import green_screen_alpha, green_screen_photo, person_photo

__all__ = ["green_screen_sample", "person_sample"]

LayerData = tuple[Any, dict[str, Any], str]


def person_sample() -> list[LayerData]:
    """The astronaut: a person in front of a busy background."""
    return [(person_photo(), {"name": "astronaut", "rgb": True}, "image")]


def green_screen_sample() -> list[LayerData]:
    """A person in front of an unevenly lit green screen, and the true matte (hidden).

    The truth is a float alpha Image so that the Compare Methods widget can pick it
    as ground truth and report each method's MAE, not just IoU.
    """
    truth = (
        green_screen_alpha(),
        {
            "name": "green screen truth",
            "colormap": "gray",
            "contrast_limits": (0.0, 1.0),
            "visible": False,
        },
        "image",
    )
    return [(green_screen_photo(), {"name": "green screen", "rgb": True}, "image"), truth]
