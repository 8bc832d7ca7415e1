"""A file page's readable summary of its asset metadata: subject, session, what was recorded.

The metadata JSON stays on the page (folded); this is what a person reads first. Only the
fields DANDI's NWB extraction fills are shown, each as a short label and plain text, and a
section without any value is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: ISO-8601 duration units, as DANDI writes ages (``P90D``, ``P1Y2M``, ``PT12H``).
_DURATION = re.compile(
    r"P(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<M>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
_UNITS = {
    "Y": "year",
    "M": "month",
    "W": "week",
    "D": "day",
    "h": "hour",
    "m": "minute",
    "s": "second",
}


@dataclass(frozen=True)
class Section:
    title: str
    facts: list[tuple[str, str]]


def file_summary(metadata: dict[str, Any]) -> list[Section]:
    """The sections of a file page's summary (empty ones left out)."""
    sections = [
        Section("Subject", _subject(metadata)),
        Section("Session", _session(metadata)),
        Section("Data", _data(metadata)),
    ]
    return [s for s in sections if s.facts]


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("identifier") or "").strip()
    return str(value or "").strip()


def _names(values: Any) -> str:
    items = values if isinstance(values, list) else []
    return ", ".join(dict.fromkeys(n for n in (_name(v) for v in items) if n))


def human_duration(text: str) -> str:
    """``P90D`` -> ``90 days``; anything else as given."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        return text
    parts = []
    for key, unit in _UNITS.items():
        amount = match[key]
        if amount:
            number = amount.rstrip("0").rstrip(".") if "." in amount else amount
            parts.append(f"{number} {unit}{'' if float(amount) == 1 else 's'}")
    return " ".join(parts)


def _age(participant: dict[str, Any]) -> str:
    age = participant.get("age")
    if not isinstance(age, dict) or not age.get("value"):
        return ""
    text = human_duration(str(age["value"]))
    reference = _name(age.get("valueReference"))
    if "Gestational" in reference:
        text += " (gestational)"
    return text


def _subject(md: dict[str, Any]) -> list[tuple[str, str]]:
    people = md.get("wasAttributedTo")
    participant = next(
        (p for p in people if isinstance(p, dict)) if isinstance(people, list) else iter(()),
        None,
    )
    if participant is None:
        return []
    facts = [
        ("Subject", _name(participant.get("identifier"))),
        ("Species", _name(participant.get("species"))),
        ("Sex", _name(participant.get("sex"))),
        ("Age", _age(participant)),
        ("Strain", _name(participant.get("strain"))),
        ("Genotype", _name(participant.get("genotype"))),
    ]
    return [(k, v) for k, v in facts if v]


def _session(md: dict[str, Any]) -> list[tuple[str, str]]:
    activities = md.get("wasGeneratedBy")
    session = next(
        (
            a
            for a in (activities if isinstance(activities, list) else [])
            if isinstance(a, dict) and a.get("schemaKey") == "Session"
        ),
        None,
    )
    if session is None:
        return []
    start, end = str(session.get("startDate") or ""), str(session.get("endDate") or "")
    facts = [
        ("Session", str(session.get("identifier") or session.get("name") or "")),
        ("Description", str(session.get("description") or "")),
        ("Started", start.replace("T", " ")[:19]),
        ("Ended", end.replace("T", " ")[:19]),
    ]
    return [(k, v.strip()) for k, v in facts if v.strip()]


def _data(md: dict[str, Any]) -> list[tuple[str, str]]:
    facts = [
        ("Approach", _names(md.get("approach"))),
        ("Technique", _names(md.get("measurementTechnique"))),
        ("Variables", _names(md.get("variableMeasured")) or _values(md.get("variableMeasured"))),
        ("Format", str(md.get("encodingFormat") or "")),
    ]
    return [(k, v) for k, v in facts if v]


def _values(items: Any) -> str:
    values = items if isinstance(items, list) else []
    return ", ".join(str(v.get("value")) for v in values if isinstance(v, dict) and v.get("value"))
