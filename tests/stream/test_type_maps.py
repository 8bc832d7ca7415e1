"""``open_nwb`` reuses the type map of the specifications a file caches: pynwb made one anew
for every file (a deep copy of its own and the file's specifications parsed into it)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest

from neuropil import reading
from tests.nwb.files import NAMESPACE, START, Spec, write_nwb

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter


def _open(path: Path):  # type: ignore[no-untyped-def]
    nwb = reading.open_nwb(path)
    return nwb, nwb.read_io.manager


def test_files_caching_the_same_specifications_share_one_type_map(tmp_path: Path) -> None:
    a = write_nwb(tmp_path / "a.nwb", Spec("a.nwb", probe_ids=(7,)))
    b = write_nwb(tmp_path / "b.nwb", Spec("b.nwb", subject_id="mouse02", probe_ids=(9,)))
    first, first_manager = _open(a)
    second, second_manager = _open(b)
    try:
        assert first_manager.type_map is second_manager.type_map
        assert first_manager is not second_manager  # what one read built stays its own
        # Each file reads as itself, its extension type included (from its cached spec).
        assert first.subject.subject_id == "mouse01" and second.subject.subject_id == "mouse02"
        (probe,) = [d for d in second.devices.values() if d.neurodata_type == "NeuropilProbe"]
        assert probe.probe_id == 9 and probe.namespace == NAMESPACE
    finally:
        first.read_io.close()
        second.read_io.close()


def test_other_specifications_or_a_namespace_loaded_later_make_a_new_type_map(
    tmp_path: Path,
) -> None:
    from pynwb import get_class, load_namespaces
    from pynwb.spec import NWBAttributeSpec, NWBGroupSpec, NWBNamespaceBuilder, export_spec

    before = write_nwb(tmp_path / "before.nwb", Spec("before.nwb"))
    old, old_manager = _open(before)
    old.read_io.close()

    # An extension loaded now: pynwb's own type map changes, and so do the files written.
    name = f"ndx-typemap-{uuid.uuid4().hex[:8]}"
    builder = NWBNamespaceBuilder(
        doc="t", name=name, version="0.1.0", author=["n"], contact=["n@example.org"]
    )
    builder.include_type("LabMetaData", namespace="core")
    kind = f"Note{uuid.uuid4().hex[:8]}"
    note = NWBGroupSpec(
        neurodata_type_def=kind,
        neurodata_type_inc="LabMetaData",
        doc="a note",
        attributes=[NWBAttributeSpec(name="text", doc="text", dtype="text")],
    )
    directory = Path(tempfile.mkdtemp(prefix="ndx-typemap-", dir=tmp_path))
    export_spec(builder, [note], str(directory))
    load_namespaces(str(directory / f"{name}.namespace.yaml"))

    again, again_manager = _open(before)
    again.read_io.close()
    assert again_manager.type_map is not old_manager.type_map  # pynwb's namespaces changed

    from pynwb import NWBHDF5IO, NWBFile

    after = tmp_path / "after.nwb"
    nwb = NWBFile(session_description="with a note", identifier="after", session_start_time=START)
    nwb.add_lab_meta_data(get_class(kind, name)(name="note", text="hello"))
    with NWBHDF5IO(str(after), "w") as io:
        io.write(nwb)
    new, new_manager = _open(after)
    try:
        assert new_manager.type_map is not again_manager.type_map  # other specifications
        assert new.get_lab_meta_data("note").text == "hello"
    finally:
        new.read_io.close()
