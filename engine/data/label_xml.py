"""Mulan label header (``<labels><label name="..."/>...``) -> label names in file order."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from engine.errors import DataError


def read_label_xml(path: str | Path) -> list[str]:
    """Return the label names of a Mulan XML header, in order (nested hierarchies flattened)."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DataError(f"{path.name}: not a valid Mulan label XML file ({exc}).") from None
    except OSError as exc:
        raise DataError(f"{path.name}: cannot read label XML ({exc.strerror}).") from None
    names = [el.attrib.get("name", "") for el in root.iter() if el.tag.split("}")[-1] == "label"]
    if not names:
        raise DataError(f"{path.name}: no <label name=...> elements found; is this a Mulan label XML file?")
    if any(not n for n in names):
        raise DataError(f"{path.name}: a <label> element has no name attribute.")
    return names
