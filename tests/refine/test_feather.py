import numpy as np
import pytest

from alphacut.refine import feather


def _step():
    alpha = np.zeros((6, 20))
    alpha[:, 10:] = 1.0
    return alpha


def test_gaussian_on_step_is_symmetric_and_matches_known_values():
    out = feather(_step(), sigma=1.0)
    row = out[3].astype(float)
    # A sampled unit Gaussian's CDF at the pixel boundary: 0.5 -/+ 0.2 at one pixel.
    np.testing.assert_allclose(row[9:11], [0.3, 0.7], atol=0.02)
    np.testing.assert_allclose(row[:10], 1 - row[10:][::-1], atol=1e-6)
    assert np.all(row[:5] == 0) and np.all(row[15:] == 1)


def test_only_band_changes():
    band = np.zeros((6, 20), bool)
    band[:, 10] = True
    out = feather(_step(), sigma=2.0, band=band)
    np.testing.assert_array_equal(out[:, :10], 0)
    np.testing.assert_array_equal(out[:, 11:], 1)
    assert np.all((out[:, 10] > 0.5) & (out[:, 10] < 1))


def test_sigma_zero_is_identity_and_checks():
    np.testing.assert_array_equal(feather(_step(), sigma=0), _step())
    with pytest.raises(ValueError):
        feather(_step(), sigma=1.0, band=np.ones((5, 5), bool))
