"""Mulan label header (``<labels><label name="..."/>...``) -> label names in file order."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from engine.errors import DataError


def parse_label_xml(data: bytes, name: str = "label XML") -> list[str]:
    """Label names of a Mulan XML header given as bytes, in order (nested hierarchies flattened).

    ``name`` is the file name the messages use. Refuses a file with no labels, a nameless label,
    or a label named twice (Mulan matches labels to ARFF attributes by name).
    """
    try:
        root = ET.fromstring(data)  # expat: external entities are never fetched, entity expansion is bounded
    except ET.ParseError as exc:
        at_end = exc.position[0] >= data.count(b"\n") + 1 if data.strip() else False  # stopped on the last line
        hint = " (is the file cut short?)" if at_end else ""
        raise DataError(f"{name}: not a valid Mulan label XML file ({exc}){hint}.") from None
    names = [el.attrib.get("name", "") for el in root.iter() if el.tag.split("}")[-1] == "label"]
    if not names:
        raise DataError(f"{name}: no <label name=...> elements found; is this a Mulan label XML file?")
    if any(not n for n in names):
        raise DataError(f"{name}: a <label> element has no name attribute.")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise DataError(f"{name}: the label {n!r} is named twice.")
        seen.add(n)
    return names


def read_label_xml(path: str | Path) -> list[str]:
    """Return the label names of a Mulan XML header file, in order (see :func:`parse_label_xml`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path.name}: cannot read label XML ({exc.strerror}).") from None
    return parse_label_xml(data, path.name)
