"""Dandiset-level checks: a path in no dandiset, and the dandiset's ``dandiset.yaml``.

``dandi validate`` reports a path in no dandiset as ``DANDI.NO_DANDISET_FOUND`` and checks
the files anyway, relative to their own folder and without the layout rules; so does
neuropil. Of ``dandiset.yaml`` the official client checks (with ``--allow-any-path``) that
``identifier``, ``name`` and ``description`` have values, or, when the file carries a
``schemaVersion``, the whole ``Dandiset`` model. Here the first are errors, as there; the
full model gives warnings, because a local ``dandiset.yaml`` is a copy of the archive's
metadata (edited online or with ``neuropil metadata --set``), and a draft may well be
incomplete until it is published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from neuropil.localfiles import DANDISET_YAML, parse_dandiset_id
from neuropil.validation.asset_metadata import field_path
from neuropil.validation.findings import Finding

REQUIRED_FIELDS = ("identifier", "name", "description")


def no_dandiset(path: Path) -> Finding:
    return Finding(
        str(path),
        "ERROR",
        "DANDI.NO_DANDISET_FOUND",
        f"{path} is not inside a dandiset: no {DANDISET_YAML} in its folder or any folder "
        "above it. Validate (and upload) inside a dandiset directory, such as one made by "
        "`neuropil download` of the dandiset.",
    )


def check_dandiset_yaml(root: Path) -> list[Finding]:
    """Problems with ``root/dandiset.yaml`` (path ``dandiset.yaml``)."""
    path = root / DANDISET_YAML
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [_finding("ERROR", "NEUROPIL.DANDISET_YAML_INVALID", f"cannot read it: {exc}")]
    if not isinstance(data, dict):
        return [
            _finding(
                "ERROR",
                "NEUROPIL.DANDISET_YAML_INVALID",
                f"it holds {type(data).__name__}, not a mapping of metadata fields",
            )
        ]
    findings = _required_fields(data)
    findings.extend(_identifier(data))
    if data.get("schemaVersion") is not None:
        findings.extend(_model_warnings(data))
    return findings


def _finding(severity: Any, id_: str, message: str, validator: Any = "neuropil") -> Finding:
    return Finding(DANDISET_YAML, severity, id_, f"{DANDISET_YAML}: {message}", validator)


def _required_fields(data: dict[str, Any]) -> list[Finding]:
    """dandi-cli's ``_check_required_fields`` (and its ids, spelling included)."""
    findings = []
    for name in REQUIRED_FIELDS:
        value = data.get(name)
        if not value or (isinstance(value, str) and not value.strip()):
            findings.append(
                _finding(
                    "ERROR",
                    "dandischema.requred_field",
                    f"required field {name!r} has no value; set it in the dandiset's metadata.",
                    "dandischema",
                )
            )
        elif value in ("REQUIRED", "PLACEHOLDER"):
            findings.append(
                _finding(
                    "WARNING",
                    "dandischema.placeholder_value",
                    f"required field {name!r} still has the placeholder {value!r}.",
                    "dandischema",
                )
            )
    return findings


def _identifier(data: dict[str, Any]) -> list[Finding]:
    ident = data.get("identifier")
    if not ident:
        return []  # reported as a missing required field
    if parse_dandiset_id(ident) is not None:
        return []
    return [
        _finding(
            "ERROR",
            "NEUROPIL.DANDISET_IDENTIFIER",
            f"'identifier' is {ident!r}, not a six-digit dandiset id such as '000123'; "
            "upload needs it to know the dandiset.",
        )
    ]


def _model_warnings(data: dict[str, Any]) -> list[Finding]:
    from dandischema.models import Dandiset
    from pydantic import ValidationError

    try:
        Dandiset.model_validate(data)
    except ValidationError as exc:
        seen: dict[str, Finding] = {}
        for error in exc.errors():
            field = field_path(error.get("loc", ()))
            seen.setdefault(
                field,
                _finding(
                    "WARNING",
                    f"dandischema.{error.get('type', 'error')}.{field}",
                    f"{field}: {error.get('msg', 'invalid')}; the dandiset cannot be "
                    "published until its metadata is fixed (online or with "
                    "`neuropil metadata --set`).",
                    "dandischema",
                ),
            )
        return list(seen.values())
    return []
