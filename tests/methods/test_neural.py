import numpy as np
from PIL import Image

from alphacut.methods.neural import neural
from alphacut.models import load_model


def test_person_photo_gives_a_soft_alpha_at_full_resolution(person):
    alpha = neural(person)
    assert alpha.shape == person.shape[:2] and alpha.dtype == np.float32
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert alpha[300, 250] > 0.9  # the astronaut's chest
    assert alpha[30, 450] < 0.1  # the background, top right
    assert np.mean((alpha > 0.02) & (alpha < 0.98)) > 0.005  # soft edge band exists


def test_session_is_reused():
    assert load_model("selfie", device="cpu") is load_model("selfie", device="cpu")


def test_real_people_photos_agree_with_remove_bg(people_dir):
    ious = []
    for path in sorted((people_dir / "image").glob("*.jpg"))[:8]:
        photo = np.asarray(Image.open(path).convert("RGB"))
        mask = Image.open(people_dir / "mask" / f"{path.stem}.png").convert("L")
        truth = np.asarray(mask.resize(photo.shape[1::-1], Image.NEAREST)) >= 128
        predicted = neural(photo) >= 0.5
        ious.append((predicted & truth).sum() / (predicted | truth).sum())
    assert np.mean(ious) > 0.8


def test_accepts_uint8_float_grey_and_rgba(person):
    reference = neural(person)
    np.testing.assert_allclose(neural(person / 255.0), reference, atol=1e-3)
    rgba = np.dstack([person, np.zeros(person.shape[:2], np.uint8)])
    np.testing.assert_allclose(neural(rgba), reference, atol=1e-6)
    assert neural(person.mean(axis=2).astype(np.uint8)).shape == person.shape[:2]
