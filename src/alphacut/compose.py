"""Putting a cut-out on a new background, or flattening it for formats without alpha."""

from __future__ import annotations

import numpy as np
from PIL import ImageColor

from alphacut._internal.imageops import resize, to_uint8
from alphacut.convert import as_float_rgb

__all__ = ["parse_color", "cutout", "composite", "mask_image"]

Color = tuple[int, int, int]


def parse_color(text: str) -> Color:
    """Parse a colour name (``white``), ``#rrggbb``/``#rgb`` or ``r,g,b`` into an RGB tuple.

    Parameters
    ----------
    text : str
        An HTML colour name, ``#rrggbb``/``#rgb`` hex (or any other form Pillow's
        ``ImageColor`` reads), or three integers 0..255 separated by commas; surrounding
        spaces are ignored.

    Returns
    -------
    tuple of int
        ``(r, g, b)``, each 0..255 (the alpha of ``#rrggbbaa`` is dropped).

    Raises
    ------
    ValueError
        When ``text`` is none of these.

    Examples
    --------
    >>> parse_color("#00ff00"), parse_color("10,20,30")
    ((0, 255, 0), (10, 20, 30))
    """
    text = text.strip()
    if "," in text:
        parts = text.split(",")
        if len(parts) == 3 and all(p.strip().isdigit() and int(p) <= 255 for p in parts):
            return tuple(int(p) for p in parts)  # type: ignore[return-value]
        raise ValueError(f"not a colour: {text!r} (expected r,g,b with values 0..255)")
    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise ValueError(f"not a colour: {text!r} (use a name, #rrggbb or r,g,b)") from None
    return tuple(rgb[:3])  # type: ignore[return-value]


def cutout(foreground: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """HxWx4 uint8 RGBA cut-out from float foreground colours and alpha.

    Parameters
    ----------
    foreground : ndarray
        float HxWx3 in [0, 1]: the subject's colours (decontaminated, as in
        :attr:`alphacut.Matte.foreground`).
    alpha : ndarray
        float HxW in [0, 1], the same height and width.

    Returns
    -------
    ndarray
        uint8 HxWx4; values outside [0, 1] are clipped.
    """
    return np.dstack([to_uint8(foreground), to_uint8(alpha)])


def _fit_background(background: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    # Scale to cover the photo, then centre-crop, the way a wallpaper fills a screen: no
    # distortion and no empty bars.
    height, width = size
    bg = as_float_rgb(background)
    scale = max(height / bg.shape[0], width / bg.shape[1])
    scaled = resize(
        bg,
        (max(height, round(bg.shape[0] * scale)), max(width, round(bg.shape[1] * scale))),
        interpolation="area" if scale < 1 else "linear",
    )
    top = (scaled.shape[0] - height) // 2
    left = (scaled.shape[1] - width) // 2
    return scaled[top : top + height, left : left + width]


def composite(
    foreground: np.ndarray, alpha: np.ndarray, background: Color | np.ndarray
) -> np.ndarray:
    """Blend the cut-out over a colour or an image.

    Blending uses the decontaminated ``foreground`` so edges do not carry a halo of the old
    background.

    Parameters
    ----------
    foreground : ndarray
        float HxWx3 in [0, 1]: the subject's colours.
    alpha : ndarray
        float HxW in [0, 1], the same height and width.
    background : tuple of int or ndarray
        An ``(r, g, b)`` tuple, 0..255 (see :func:`parse_color`), or an image of any size
        and any layout :func:`alphacut.convert.as_float_rgb` takes, scaled to cover the
        photo and centre-cropped (no distortion, no empty bars).

    Returns
    -------
    ndarray
        uint8 HxWx3.

    Examples
    --------
    >>> fg = np.ones((4, 4, 3), np.float32); a = np.full((4, 4), 0.5, np.float32)
    >>> composite(fg, a, (0, 0, 0))[0, 0].tolist()
    [128, 128, 128]
    """
    alpha = np.asarray(alpha, np.float32)[..., None]
    if isinstance(background, tuple):
        bg = np.asarray(background, np.float32)[None, None, :] / 255
    else:
        bg = _fit_background(background, alpha.shape[:2])
    return to_uint8(np.asarray(foreground, np.float32) * alpha + bg * (1 - alpha))


def mask_image(alpha: np.ndarray) -> np.ndarray:
    """The alpha matte as a grey image (white = subject).

    Parameters
    ----------
    alpha : ndarray
        float HxW in [0, 1].

    Returns
    -------
    ndarray
        uint8 HxW, 0..255.
    """
    return to_uint8(alpha)
