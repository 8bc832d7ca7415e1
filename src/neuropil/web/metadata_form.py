"""The metadata editor: a form for the common fields plus a JSON editor for the rest.

:class:`MetadataForm` is the editor's state, built from stored metadata (to show it) or
from a posted form (to save it, or to show it again with errors). Saving merges the form
into the stored document: contributor entries keep the keys the form does not show
(affiliations, award numbers), and the JSON editor holds every other field. Schema errors
(``{"field", "message"}`` from the service) are placed next to the form field they name by
:func:`place_errors`; errors in fields without a form control go to the JSON editor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dandischema.models import LicenseType, RoleType
from starlette.datastructures import FormData

from neuropil.core.jsontext import InvalidJsonText, check_text
from neuropil.services.metadata import VERSION_COMPUTED_FIELDS
from neuropil.web.state import field as text
from neuropil.web.state import fields as texts

LICENSES = [lic.value for lic in LicenseType]
ROLES = [role.value for role in RoleType]
KINDS = ("Person", "Organization")
#: Metadata keys edited by form controls; the JSON editor holds all others.
FORM_KEYS = ("name", "description", "license", "keywords", "contributor")
#: Contributor keys with a control in each row.
ROW_KEYS = ("schemaKey", "name", "email", "url", "identifier", "roleName", "includeInCitation")
#: Empty rows offered for new contributors (a page without JavaScript cannot add rows).
SPARE_ROWS = 2

Errors = dict[str, list[str]]


@dataclass
class ContributorRow:
    kind: str = "Person"
    name: str = ""
    email: str = ""
    url: str = ""
    identifier: str = ""
    roles: list[str] = field(default_factory=list)
    cite: bool = True
    remove: bool = False
    #: Index of the stored entry this row edits (``None``: a new contributor).
    source: int | None = None

    @property
    def empty(self) -> bool:
        return not (self.name or self.email or self.url or self.identifier or self.roles)


class FormProblem(Exception):
    """The form itself cannot be turned into metadata (bad JSON in the editor)."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def _row(entry: dict[str, Any], source: int) -> ContributorRow:
    roles = entry.get("roleName")
    return ContributorRow(
        kind=str(entry.get("schemaKey") or "Person"),
        name=str(entry.get("name") or ""),
        email=str(entry.get("email") or ""),
        url=str(entry.get("url") or ""),
        identifier=str(entry.get("identifier") or ""),
        roles=[str(r) for r in roles] if isinstance(roles, list) else [],
        cite=bool(entry.get("includeInCitation", entry.get("schemaKey") != "Organization")),
        source=source,
    )


@dataclass
class MetadataForm:
    name: str = ""
    description: str = ""
    licenses: list[str] = field(default_factory=list)
    keywords: str = ""
    rows: list[ContributorRow] = field(default_factory=list)
    other: str = "{}"

    @classmethod
    def from_metadata(cls, name: str, metadata: dict[str, Any]) -> MetadataForm:
        raw = metadata.get("contributor")
        entries = raw if isinstance(raw, list) else []
        rows = [_row(c, i) for i, c in enumerate(entries) if isinstance(c, dict)]
        lic = metadata.get("license")
        kw = metadata.get("keywords")
        rest = {
            k: v
            for k, v in metadata.items()
            if k not in FORM_KEYS and k not in VERSION_COMPUTED_FIELDS
        }
        return cls(
            name=name,
            description=str(metadata.get("description") or ""),
            licenses=[str(x) for x in lic] if isinstance(lic, list) else [],
            keywords="\n".join(str(k) for k in kw) if isinstance(kw, list) else "",
            rows=rows,
            other=json.dumps(rest, indent=2, ensure_ascii=False),
        )

    @classmethod
    def from_form(cls, form: FormData) -> MetadataForm:
        rows = []
        raw_count = text(form, "contributor-count")
        count = int(raw_count) if raw_count.isdigit() else 0
        for i in range(min(count, 1000)):
            p = f"contributor-{i}-"
            source = text(form, p + "source")
            rows.append(
                ContributorRow(
                    kind=text(form, p + "kind") or "Person",
                    name=text(form, p + "name").strip(),
                    email=text(form, p + "email").strip(),
                    url=text(form, p + "url").strip(),
                    identifier=text(form, p + "identifier").strip(),
                    roles=texts(form, p + "roles"),
                    cite=bool(text(form, p + "cite")),
                    remove=bool(text(form, p + "remove")),
                    source=int(source) if source.isdigit() else None,
                )
            )
        return cls(
            name=text(form, "name").strip(),
            description=text(form, "description").strip(),
            licenses=texts(form, "license"),
            keywords=text(form, "keywords"),
            rows=rows,
            other=text(form, "other") or "{}",
        )

    def kept_rows(self) -> list[ContributorRow]:
        """The rows that say something: stored contributors and filled-in new rows."""
        return [r for r in self.rows if not r.empty or r.source is not None]

    def display_rows(self) -> list[ContributorRow]:
        """The rows to show: :meth:`kept_rows` (same indices) plus empty ones for new
        entries."""
        return self.kept_rows() + [ContributorRow() for _ in range(SPARE_ROWS)]

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in re.split(r"[\r\n]+", self.keywords) if k.strip()]

    def _other(self) -> dict[str, Any]:
        try:
            check_text(self.other)  # the API's JSON check, for the JSON typed in here
        except InvalidJsonText as exc:
            raise FormProblem({"other": [exc.message]}) from exc
        try:
            rest = json.loads(self.other or "{}")
        except json.JSONDecodeError as exc:
            raise FormProblem(
                {"other": [f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."]}
            ) from exc
        if not isinstance(rest, dict):
            raise FormProblem({"other": ["The JSON editor must hold an object ({...})."]})
        clash = sorted(k for k in rest if k in FORM_KEYS)
        if clash:
            raise FormProblem(
                {"other": [f"Edit {', '.join(clash)} in the form above; remove it from the JSON."]}
            )
        return rest

    def to_metadata(self, stored: dict[str, Any]) -> tuple[str, dict[str, Any], list[int]]:
        """``(name, metadata, rows)``: ``rows[i]`` is the displayed row (an index into
        :meth:`display_rows`) of contributor ``i``, for placing its errors."""
        md = self._other()
        raw = stored.get("contributor")
        old = raw if isinstance(raw, list) else []
        contributors: list[Any] = []
        placed: list[int] = []
        for index, row in enumerate(self.kept_rows()):
            if row.remove:
                continue
            base = old[row.source] if row.source is not None and row.source < len(old) else {}
            kept = base.items() if isinstance(base, dict) else ()
            entry = {k: v for k, v in kept if k not in ROW_KEYS}
            entry["schemaKey"] = row.kind if row.kind in KINDS else "Person"
            entry["name"] = row.name
            for key, value in (("email", row.email), ("url", row.url)):
                if value:
                    entry[key] = value
            if row.identifier:
                entry["identifier"] = row.identifier
            entry["roleName"] = row.roles
            entry["includeInCitation"] = row.cite
            entry.setdefault("affiliation" if row.kind == "Person" else "contactPoint", [])
            contributors.append(entry)
            placed.append(index)
        md["contributor"] = contributors
        md["description"] = self.description
        md["license"] = self.licenses
        md["keywords"] = self.keyword_list()
        if not md["description"]:
            del md["description"]
        return self.name, md, placed


_CONTRIBUTOR = re.compile(r"^contributor\.(\d+)(?:\.(?:Person|Organization))?(?:\.([A-Za-z]+))?")


def place_errors(errors: Iterable[dict[str, Any]], rows: list[int] | None = None) -> Errors:
    """Group ``{"field", "message"}`` errors by the form control they belong to.

    Keys: ``name``, ``description``, ``license``, ``keywords``, ``contributor`` (the list),
    ``contributor-<row>`` and ``contributor-<row>-<key>`` (a row and one of its controls),
    and ``other`` (the JSON editor; the message then names the field).
    """
    placed: Errors = {}
    for error in errors:
        path = str(error.get("field") or "")
        message = str(error.get("message") or "invalid value")
        head = path.split(".", 1)[0]
        match = _CONTRIBUTOR.match(path)
        if match:
            index = int(match.group(1))
            row = rows[index] if rows is not None and index < len(rows) else index
            key = match.group(2)
            control = {"schemaKey": "kind", "roleName": "roles", "includeInCitation": "cite"}.get(
                key or "", key or ""
            )
            if control in ("name", "email", "url", "identifier", "kind", "roles", "cite"):
                placed.setdefault(f"contributor-{row}-{control}", []).append(message)
            else:
                rest = path[match.end() :].lstrip(".")
                where = f"{key}.{rest}".strip(".") if key else rest
                placed.setdefault(f"contributor-{row}", []).append(
                    f"{where}: {message}" if where else message
                )
        elif head in FORM_KEYS:
            placed.setdefault(head, []).append(message)
        else:
            placed.setdefault("other", []).append(f"{path or '(metadata)'}: {message}")
    return placed
