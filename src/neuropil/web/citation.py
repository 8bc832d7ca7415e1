"""Citation exports of a version: BibTeX and RIS, from its full metadata.

The plain-text citation is the server's own (``metadata["citation"]``, DANDI's form); the
exports carry the same authors (contributors with ``includeInCitation``), title, year,
version, publisher and link (the DOI when there is one).
"""

from __future__ import annotations

import re
from typing import Any

from neuropil.services.metadata import contributors

_BIBTEX_SPECIAL = re.compile(r"([&%$#_{}])")


def authors(metadata: dict[str, Any]) -> list[str]:
    return [
        str(c["name"])
        for c in contributors(metadata)
        if c.get("includeInCitation", True) and c.get("name")
    ]


def _year(metadata: dict[str, Any]) -> str:
    for key in ("datePublished", "dateCreated"):
        value = metadata.get(key)
        if isinstance(value, str) and len(value) >= 4 and value[:4].isdigit():
            return value[:4]
    return ""


def _link(metadata: dict[str, Any]) -> tuple[str | None, str]:
    doi = metadata.get("doi")
    url = str(metadata.get("url", ""))
    return (doi if isinstance(doi, str) and doi else None), url


def _bib(value: str) -> str:
    value = " ".join(value.replace("\\", "/").split())
    return _BIBTEX_SPECIAL.sub(r"\\\1", value)


def bibtex(metadata: dict[str, Any], *, publisher: str) -> str:
    ident = str(metadata.get("identifier", "dandiset")).replace(":", "_")
    key = re.sub(r"[^A-Za-z0-9_]", "_", f"{ident}_{metadata.get('version', '')}")
    doi, url = _link(metadata)
    entries = [
        ("author", " and ".join(authors(metadata))),
        ("title", str(metadata.get("name", ""))),
        ("year", _year(metadata)),
        ("publisher", publisher),
        ("version", str(metadata.get("version", ""))),
        ("doi", doi or ""),
        ("url", f"https://doi.org/{doi}" if doi else url),
    ]
    body = ",\n".join(f"  {name} = {{{_bib(value)}}}" for name, value in entries if value)
    return f"@misc{{{key},\n{body}\n}}\n"


def _ris(value: str) -> str:
    return " ".join(value.split())


def ris(metadata: dict[str, Any], *, publisher: str) -> str:
    """RIS (``TY - DATA``), lines ended by CRLF as the format asks."""
    doi, url = _link(metadata)
    lines = [("TY", "DATA")]
    lines += [("AU", a) for a in authors(metadata)]
    lines += [
        ("TI", str(metadata.get("name", ""))),
        ("PY", _year(metadata)),
        ("PB", publisher),
        ("ET", str(metadata.get("version", ""))),
        ("DO", doi or ""),
        ("UR", f"https://doi.org/{doi}" if doi else url),
        ("AB", str(metadata.get("description", ""))),
    ]
    keywords = metadata.get("keywords")
    if isinstance(keywords, list):
        lines += [("KW", str(k)) for k in keywords]
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {_ris(value)}\r\n" for tag, value in lines if value or tag == "ER")
