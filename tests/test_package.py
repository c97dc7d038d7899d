"""The package's top level: public names and subpackages after a plain ``import alphacut``."""

import subprocess
import sys


def test_subpackages_are_attributes_after_a_plain_import():
    # A fresh interpreter: in this one the test session has imported them already.
    code = (
        "import alphacut\n"
        "print(alphacut.refine.refine.__module__, alphacut.io.write_image.__module__,"
        " alphacut.api.remove_background is alphacut.remove_background,"
        " callable(alphacut.batch.remove_backgrounds))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["alphacut.refine.refinement", "alphacut.io.write", "True", "True"]


def test_unknown_attribute_is_an_attribute_error():
    import alphacut

    try:
        alphacut.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("alphacut.no_such_thing did not raise")
