"""Tests of :mod:`alphacut.refine`, one module per module; :mod:`refine.ramps` holds the
synthetic composite both matting solvers are checked on."""
