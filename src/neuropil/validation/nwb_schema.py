"""pynwb's schema validation, with the expensive part done once per schema.

``pynwb.validate(path=...)`` (what dandi-cli calls) validates a file against the namespaces
cached inside it, and to do so parses those cached specifications into a fresh namespace
catalog: about 0.5 s of every file, however small, while the validation proper takes
milliseconds. Files written by the same software carry the same cached specifications,
so here the catalog and its ``ValidatorMap``\\ s are built once per distinct set of cached
specifications (keyed by a hash of their text) and reused; the result is what
``pynwb.validate`` returns (the test suite checks that on broken and good files).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

#: Distinct cached-specification sets kept per process (a lab's files share one or two).
CACHE_SIZE = 16
_VALIDATORS: OrderedDict[str, list[Any]] = OrderedDict()


def schema_errors(io: Any) -> list[Any]:
    """pynwb's validation errors of the file open in ``io`` (an ``NWBHDF5IO``), as
    ``pynwb.validate(path=...)`` gives them; the builders read stay cached in ``io``."""
    import pynwb

    key = _spec_key(io)
    if key is None:  # no cached specifications: pynwb validates against its own core
        return list(pynwb.validate(io=io))
    validators = _VALIDATORS.get(key)
    if validators is None:
        validators = _build(io)
        _VALIDATORS[key] = validators
        while len(_VALIDATORS) > CACHE_SIZE:
            _VALIDATORS.popitem(last=False)
    else:
        _VALIDATORS.move_to_end(key)
    builder = io.read_builder()
    errors: list[Any] = []
    for validator in validators:
        errors.extend(validator.validate(builder))
    return errors


def _build(io: Any) -> list[Any]:
    """``pynwb.validate``'s own choice of namespaces (the most specific cached ones) and
    catalog, as validator maps."""
    from hdmf.validate import ValidatorMap
    from pynwb import CORE_NAMESPACE
    from pynwb.validation import get_cached_namespaces_to_validate

    namespaces, manager, _ = get_cached_namespaces_to_validate(io=io)
    if not namespaces or manager is None:
        catalog = io.manager.namespace_catalog
        namespaces = [CORE_NAMESPACE]
    else:
        catalog = manager.namespace_catalog
    return [ValidatorMap(catalog.get_namespace(name=ns)) for ns in namespaces]


def _spec_key(io: Any) -> str | None:
    """A hash of every cached specification document in the file (None if there are none)."""
    import h5py

    h5 = io._file  # NWBHDF5IO has no public handle; pynwb's own validation uses this one
    location = h5.attrs.get(".specloc")
    if location is None:
        return None
    try:
        specs = h5[location]
    except (KeyError, ValueError):
        return None
    digest = hashlib.sha256()

    def add(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            value = obj[()]
            digest.update(name.encode())
            digest.update(value if isinstance(value, bytes) else str(value).encode())

    specs.visititems(add)
    return digest.hexdigest()
