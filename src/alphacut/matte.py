"""The result of background removal: a soft alpha matte plus what is needed to use it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from alphacut.compose import cutout
from alphacut.convert import MASK_THRESHOLD

__all__ = ["Matte"]


@dataclass
class Matte:
    """A soft alpha matte for one photo.

    Attributes
    ----------
    alpha : ndarray
        float32 HxW in [0, 1]: 1 is subject, 0 is background, values between are partial
        coverage (hair, motion blur, anti-aliased edges).
    foreground : ndarray
        float32 HxWx3 in [0, 1]: the subject's colours with the background's colour removed
        from edge pixels (equal to the photo where no decontamination ran).
    method : str
        The method that produced ``alpha`` (for ``"auto"``, the one it picked).
    timings : dict
        Seconds spent in each step, e.g. ``{"neural": 0.03, "matting": 0.2}``.
    notes : list of str
        Why ``"auto"`` picked what it picked, and similar remarks for the user.
    provider : str or None
        The ONNX Runtime execution provider the neural model ran on, if it ran.
    model : str or None
        The neural model whose answer the result was made from (the alpha, GrabCut's
        seeds) or handed on from (``auto``'s GrabCut after a model that found no
        subject): its name in the model table, or its file's name. None where no model
        ran or its answer was set aside (GrabCut's seeding that found nothing).
    edge_uncertainty : float or None
        Share of the outline where the method was unsure of its own alpha (see
        :func:`alphacut.metrics.edge_uncertainty`): high on hair, fur, foliage and
        half-recognised subjects, the cut-outs to check by eye.
    """

    alpha: np.ndarray
    foreground: np.ndarray
    method: str
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    edge_uncertainty: float | None = None

    @property
    def mask(self) -> np.ndarray:
        """Boolean HxW mask: ``alpha >= 0.5`` (:data:`alphacut.convert.MASK_THRESHOLD`)."""
        return self.alpha >= MASK_THRESHOLD

    def rgba(self) -> np.ndarray:
        """The cut-out: decontaminated colours with alpha as the 4th channel.

        Returns
        -------
        ndarray
            uint8 HxWx4 RGBA, ready for a PNG or WebP.
        """
        return cutout(self.foreground, self.alpha)
