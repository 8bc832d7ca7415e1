"""People's names as citations want them ("Last, First"), without the metadata machinery:
the admin commands name users at start-up cost, and this is all they need of it."""

from __future__ import annotations

import re

__all__ = ["citation_name"]


def citation_name(text: str) -> str:
    """A person's name as DANDI wants it, "Last, First": kept when it is one already;
    "First Middle Last" becomes "Last, First Middle"; a single word (a user name such as
    ``alice``) becomes "Alice, Alice", valid until the person gives their real name."""
    cleaned = " ".join(re.sub(r"[^\w\s\-\.',]", " ", text).split())
    last, comma, first = cleaned.partition(",")
    if comma and last.strip() and first.strip() and "," not in first:
        return f"{last.strip()}, {first.strip()}"
    words = cleaned.replace(",", " ").split()
    if len(words) > 1:
        return f"{words[-1]}, {' '.join(words[:-1])}"
    word = words[0].capitalize() if words else "Unknown"
    return f"{word}, {word}"
