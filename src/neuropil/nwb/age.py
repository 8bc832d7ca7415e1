"""A subject's age as an ISO-8601 duration, from the free text NWB files carry.

The rules are the official client's (``dandi.metadata.util.parse_age``), so the same text
gives the same duration: an ISO-8601 duration (``P90D``, ``P1Y2M``, ``PT12H``; a decimal only
in the last part; ``,`` as decimal mark), a range of two of them (``P90D/P100D``, either end
may be left open: ``P90D/``), or free text made of ``<number> <unit>`` parts in the order
years, months, weeks, days, then hours, minutes, seconds (``"3 months 2 days"``,
``"90 days"``, ``"12 h"``, also ``"1:30:00"``). A ``gestation``/``gestational`` prefix makes
the age relative to conception. Where the official client produces something that is not a
duration (it drops the seconds of ``PT1H30M10S`` and writes ``T2H`` without ``P``), this
parser gives the correct duration instead.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

Reference = Literal["Birth", "Gestational"]

_NUMBER = r"(\d+(?:\.\d+)?)"
_FREE_NUMBER = r"(\d+\.?\d*)"
_ISO = re.compile(
    rf"P(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
    re.IGNORECASE,
)
_DATE_UNITS = "YMWD"
_TIME_UNITS = "HMS"
#: unit -> the words free text may use for it (a trailing "s" is always allowed)
_DATE_WORDS = {"Y": "y(?:ear)?", "M": "(?:month|mon|mo|m)", "W": "w(?:eek)?", "D": "d(?:ay)?"}
_TIME_WORDS = {"H": "h(?:our)?", "M": "(?:min|m(?:inute)?)", "S": "(?:sec|s(?:econd)?)"}
_DATE_ORDER = {"D": 0, "W": 1, "M": 2, "Y": 3}
_TIME_ORDER = {"S": 0, "M": 1, "H": 2}


class AgeError(ValueError):
    """The text is not an age neuropil (or the official client) can read."""


def parse_age(text: str, reference: str | None = None) -> tuple[str, Reference]:
    """``(ISO-8601 duration, reference)`` for an age text.

    ``reference`` is the NWB ``age`` attribute of that name (``birth``/``gestational``); a
    ``gestation...`` prefix in the text wins over it.
    """
    if not text or not text.strip():
        raise AgeError("the age is empty")
    age = text.strip()
    ref: Reference = "Gestational" if (reference or "").lower() == "gestational" else "Birth"
    if age.lower().startswith("gestation"):
        age = re.sub(r"^gest[a-z]*", "", age, flags=re.IGNORECASE).strip()
        ref = "Gestational"
    if "/" in age and len(age.split("/")) == 2:
        return _parse_range(age.replace(" ", "")), ref
    if age[:1] in ("P", "p"):  # the official client refuses a lower-case "p"
        return _join(_parse_iso(age)), ref
    return _join(_parse_free(age, text, time=ref == "Birth")), ref


def duration_between(delta: timedelta) -> str:
    """An ISO-8601 duration for a time difference: days, then seconds (``P92DT3600S``)."""
    out = "P"
    if delta.days:
        out += f"{delta.days}D"
    if delta.seconds or delta.microseconds:
        seconds: float = delta.seconds + delta.microseconds / 1e6
        out += f"T{int(seconds) if seconds == int(seconds) else seconds}S"
    return "P0D" if out == "P" else out


def _join(parts: list[str]) -> str:
    if not parts:
        raise AgeError("the age holds no number with a unit")
    return "".join(parts if parts[0] == "P" else ["P", *parts])


def _parse_iso(text: str) -> list[str]:
    m = _ISO.fullmatch(text.replace(",", "."))
    if m is None:
        raise AgeError(f"{text!r} is not an ISO-8601 duration such as P90D or P1Y2M")
    date = [f"{v}{u}" for v, u in zip(m.groups()[:4], _DATE_UNITS, strict=True) if v]
    time = [f"{v}{u}" for v, u in zip(m.groups()[4:], _TIME_UNITS, strict=True) if v]
    parts = ["P", *date, *(["T", *time] if time else [])]
    _check_decimals(parts)
    return parts


def _parse_range(text: str) -> str:
    limits: list[list[str]] = []
    for end in text.split("/"):
        if end[:1] in ("P", "p"):
            limits.append(_parse_iso(end))
        elif end == "":
            limits.append([])
        else:
            raise AgeError(f"an age range needs ISO-8601 durations on both sides, not {end!r}")
    lower, upper = limits
    if lower and upper and not (_less_or_equal(lower, upper) and len(lower) <= len(upper)):
        raise AgeError(
            f"in the age range {text!r} the upper limit must be larger than the lower one, "
            "with consistent units"
        )
    return "".join(lower) + "/" + "".join(upper)


def _less_or_equal(lower: list[str], upper: list[str]) -> bool:
    """The official client's comparison: the first differing part decides (the caller
    also requires the lower limit to have no more parts than the upper, as it does)."""
    order = _DATE_ORDER
    for index, part in enumerate(upper):
        if index == len(lower):
            return True
        other = lower[index]
        if part == "T":
            if other != "T":
                return False
            order = _TIME_ORDER
        elif part == other:
            continue
        elif part[-1] == other[-1]:
            if float(part[:-1]) == float(other[:-1]):
                continue
            return float(part[:-1]) > float(other[:-1])
        else:
            return order.get(part[-1].upper(), -1) > order.get(other[-1].upper(), -1)
    return True


def _take(age: str, unit: str, words: str) -> tuple[str, str | None]:
    """Take ``<number> <unit>`` (or ``<number> units: <unit>``, or ``<unit> <number>``)
    from the start of ``age``; return the rest and the ISO part."""
    word = rf"{words}s?"
    for pattern, group in (
        (rf"{_FREE_NUMBER}\s*{word}", 1),
        (rf"{_FREE_NUMBER}\s*units?:?\s*{word}", 1),
        (rf"{word}\s*{_FREE_NUMBER}", 1),
    ):
        m = re.match(pattern, age, flags=re.IGNORECASE)
        if m:
            number = m[group]
            value = float(number) if "." in number else int(number)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return (age[: m.start()] + age[m.end() :]).strip(), f"{value}{unit}"
    return age, None


def _parse_free(age: str, original: str, *, time: bool) -> list[str]:
    for symbol in ",;()":
        age = age.replace(symbol, " ")
    age = age.strip()
    if not age:
        raise AgeError(f"the age {original!r} holds no number with a unit")
    date: list[str] = []
    for unit in _DATE_UNITS:
        if not age:
            break
        age, part = _take(age, unit, _DATE_WORDS[unit])
        if part:
            date.append(part)
    clock: list[str] = []
    if time:
        for unit in _TIME_UNITS:
            if not age:
                break
            age, part = _take(age, unit, _TIME_WORDS[unit])
            if part:
                clock.append(part)
        if not clock:
            m = re.match(r"\s*(\d\d?):(\d\d):(\d\d)", age)
            if m:
                clock = [f"{int(m[1])}H", f"{int(m[2])}M", f"{int(m[3])}S"]
                age = (age[: m.start()] + age[m.end() :]).strip()
    if set(age) - set(" .,:;"):
        raise AgeError(
            f"cannot read the age {original!r}: {age!r} is not a number with a unit; "
            "use an ISO-8601 duration such as P90D"
        )
    parts = (["P", *date] if date else []) + (["T", *clock] if clock else [])
    _check_decimals(parts)
    return parts


def _check_decimals(parts: list[str]) -> None:
    if any("." in p for p in parts[:-1]):
        raise AgeError("only the last part of an age may have a decimal fraction")
