import numpy as np
import pytest

from alphacut._internal.imageops import pixel_dot, to_uint8


def _reference_uint8(values: np.ndarray) -> np.ndarray:
    finite = np.nan_to_num(np.asarray(values, np.float32), nan=0.0)
    return np.clip(np.rint(finite * 255), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(7,), (5, 6), (5, 6, 1), (5, 6, 3), (5, 6, 4), (2, 3, 4, 3)])
def test_to_uint8_rounds_half_to_even_and_clips_in_any_shape(shape):
    rng = np.random.default_rng(1)
    values = rng.uniform(-0.2, 1.2, shape).astype(np.float32)
    flat = values.reshape(-1)
    flat[:5] = [0.5 / 255, 1.5 / 255, np.inf, -np.inf, np.nan]
    result = to_uint8(values)
    assert result.dtype == np.uint8 and result.shape == values.shape
    np.testing.assert_array_equal(result, _reference_uint8(values))
    assert result.reshape(-1)[:5].tolist() == [0, 2, 255, 0, 0]


def test_pixel_dot_is_the_per_pixel_dot_product():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(-1, 1, (2, 6, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(pixel_dot(a, b), np.einsum("hwc,hwc->hw", a, b), atol=1e-6)
