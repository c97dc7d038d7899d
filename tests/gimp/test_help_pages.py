"""The plug-in's help pages (no GIMP needed): GIMP's Help button in the dialog asks the
plug-in's help domain for the procedure's name, and must land on alphacut's README section
rather than on GIMP's manual, which has no page for it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HELP = REPO / "gimp_plugin" / "alphacut-remove-background" / "help" / "en"
PROC_NAME = "python-fu-alphacut-remove-background"


def test_the_help_index_maps_the_procedure_to_a_page_that_exists():
    root = ElementTree.parse(HELP / "gimp-help.xml").getroot()
    assert root.tag == "gimp-help"
    items = {item.get("id"): item.get("ref") for item in root.iter("help-item")}
    assert (HELP / items[PROC_NAME]).is_file()
    # Any other help ID GIMP might ask for lands on the same page, not on an error.
    [missing] = root.iter("help-missing")
    assert missing.get("ref") == items[PROC_NAME]


def test_the_help_page_opens_the_readme_section():
    page = (HELP / "index.html").read_text(encoding="utf-8")
    [target] = set(re.findall(r"url=([^\"']+)", page))
    assert target in page.split("<body>", 1)[1], "the page must also link it, for offline readers"
    anchor = target.split("#", 1)[1]
    headings = re.findall(r"^## (.+)$", (REPO / "README.md").read_text(encoding="utf-8"), re.M)
    # GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped.
    anchors = {
        re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings
    }
    assert anchor in anchors, f"#{anchor} is not a README section: {sorted(anchors)}"
