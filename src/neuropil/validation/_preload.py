"""Imported once by the validation pool's fork server, so every worker forked from it
starts with pynwb, nwbinspector (and its checks) and dandischema already imported."""

import dandischema.models  # noqa: F401
import h5py  # noqa: F401
import nwbinspector  # noqa: F401
import pynwb  # noqa: F401

import neuropil.nwb.metadata
import neuropil.validation.nwb_content
import neuropil.validation.nwb_schema

neuropil.validation.nwb_content.inspector_config()
