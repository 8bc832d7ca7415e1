"""The vocabularies metadata extraction and ``organize`` map NWB values onto.

These are the official client's tables (dandi-cli 0.81, ``metadata/util.py`` and the pynwb
class-to-module map its ``organize`` builds at run time), written out here: the official
client derives the modality table from whichever pynwb is installed, so its file names can
change with a pynwb upgrade; a fixed table keeps neuropil's names stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NCBITAXON_URL = "http://purl.obolibrary.org/obo/NCBITaxon_{}"
PATO_URL = "http://purl.obolibrary.org/obo/PATO_{}"


@dataclass(frozen=True)
class Species:
    """One species the extractor recognises without asking NCBI.

    A value names it when it equals (case-insensitively) the full ``name``, the scientific
    or the common half of it, or starts with ``prefix``; only if no species matches that
    way are the ``common_names`` tried.
    """

    taxon_id: str
    name: str  # "<scientific name> - <common name>", DANDI's form
    prefix: str | None = None
    common_names: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return NCBITAXON_URL.format(self.taxon_id)

    def matches_name(self, value: str) -> bool:
        scientific, _, common = self.name.partition(" - ")
        return value in (self.name.lower(), scientific.lower(), common.lower()) or (
            self.prefix is not None and value.startswith(self.prefix)
        )


SPECIES: tuple[Species, ...] = (
    Species("10090", "Mus musculus - House mouse", "mus", ("mouse",)),
    Species("9606", "Homo sapiens - Human", "homo", ("human",)),
    Species("10116", "Rattus norvegicus - Norway rat", None, ("brown rat", "rat", "norvegicus")),
    Species("10117", "Rattus rattus - Black rat", None, ("rattus rattus",)),
    Species("9544", "Macaca mulatta - Rhesus monkey", None, ("mulatta", "rhesus")),
    Species("9483", "Callithrix jacchus - Common marmoset", None, ("jacchus",)),
    Species("7227", "Drosophila melanogaster - Fruit fly", None, ("melanogaster", "fruit fly")),
    Species("7955", "Danio rerio - Zebra fish", None, ("danio", "zebrafish", "zebra fish")),
    Species(
        "6239",
        "Caenorhabditis elegans - Roundworm",
        "caenorhabditis",
        ("c. elegans", "caenorhabditis elegans"),
    ),
    Species(
        "9545",
        "Macaca nemestrina - Pig-tailed macaque",
        None,
        ("pig-tailed macaque", "pigtail monkey", "pigtail macaque"),
    ),
    Species(
        "9548",
        "Macaca radiata - Bonnet macaque",
        None,
        ("bonnet macaque", "bonnet monkey", "radiata"),
    ),
    Species(
        "10047",
        "Meriones unguiculatus - Mongolian gerbil",
        None,
        ("mongolian gerbil", "mongolian jird"),
    ),
    Species("30207", "Polistes fuscatus - Common paper wasp", None, ("common paper wasp",)),
)

_TAXON_FORMS = (
    re.compile(r"https?://purl\.obolibrary\.org/obo/NCBITaxon_([0-9]+)/?", re.IGNORECASE),
    re.compile(r"(?:obo:)?NCBITaxon[_:]([0-9]+)", re.IGNORECASE),
)


class UnknownSpecies(ValueError):
    """No species (or more than one) matches the value."""


def lookup_species(value: str) -> tuple[str, str | None]:
    """``(NCBITaxon URL, DANDI name)`` for a species value from an NWB file.

    Accepts an NCBITaxon URL or ``NCBITaxon_<n>`` / ``NCBITaxon:<n>`` (a taxon outside the
    table keeps no name: neuropil does not ask NCBI over the network), or a name matched
    case-insensitively against :data:`SPECIES`. Raises :class:`UnknownSpecies` otherwise.
    """
    for form in _TAXON_FORMS:
        m = form.fullmatch(value.strip())
        if m:
            url = NCBITAXON_URL.format(m[1])
            known = next((s for s in SPECIES if s.url == url), None)
            return url, known.name if known else None
    needle = value.strip().lower()
    matches = {s for s in SPECIES if s.matches_name(needle)}
    if not matches:
        matches = {s for s in SPECIES if needle in s.common_names}
    if len(matches) == 1:
        (match,) = matches
        return match.url, match.name
    if matches:
        names = ", ".join(sorted(s.name for s in matches))
        raise UnknownSpecies(f"{value!r} matches several species ({names}); be more specific")
    raise UnknownSpecies(
        f"unknown species {value!r}: use a latin or common name DANDI knows (e.g. "
        "'Mus musculus', 'rat') or the NCBITaxon URL, e.g. "
        "http://purl.obolibrary.org/obo/NCBITaxon_10090"
    )


#: sex value (lower-cased) -> (identifier, name), as the official client maps it.
SEX: dict[str, tuple[str | None, str]] = {
    "m": (PATO_URL.format("0000384"), "Male"),
    "male": (PATO_URL.format("0000384"), "Male"),
    "f": (PATO_URL.format("0000383"), "Female"),
    "female": (PATO_URL.format("0000383"), "Female"),
    "u": (None, "Unknown"),
    "unknown": (None, "Unknown"),
    "o": (None, "Other"),
    "other": (None, "Other"),
}


@dataclass(frozen=True)
class Technique:
    """What a neurodata type says about how the data were obtained."""

    technique: str | None
    approach: str | None


_EPHYS = "electrophysiological approach"
_IMAGING = "microscopy approach; cell population imaging"
_BEHAVIOR = "behavioral approach"
_SORTING = "spike sorting technique"

#: neurodata type -> technique and approach (the official client's ``neurodata_typemap``);
#: every type listed here is also reported as a ``variableMeasured``.
NEURODATA_TECHNIQUES: dict[str, Technique] = {
    "ElectricalSeries": Technique(
        "multi electrode extracellular electrophysiology recording technique", _EPHYS
    ),
    "SpikeEventSeries": Technique(_SORTING, _EPHYS),
    "FeatureExtraction": Technique(_SORTING, _EPHYS),
    "LFP": Technique("signal filtering technique", _EPHYS),
    "EventWaveform": Technique(_SORTING, _EPHYS),
    "EventDetection": Technique(_SORTING, _EPHYS),
    "ElectrodeGroup": Technique("surgical technique", _EPHYS),
    "PatchClampSeries": Technique("patch clamp technique", _EPHYS),
    "CurrentClampSeries": Technique("current clamp technique", _EPHYS),
    "CurrentClampStimulusSeries": Technique("current clamp technique", _EPHYS),
    "VoltageClampSeries": Technique("voltage clamp technique", _EPHYS),
    "VoltageClampStimulusSeries": Technique("voltage clamp technique", _EPHYS),
    "TwoPhotonSeries": Technique("two-photon microscopy technique", _IMAGING),
    "OnePhotonSeries": Technique("one-photon microscopy technique", _IMAGING),
    "OpticalChannel": Technique("surgical technique", _IMAGING),
    "ImagingPlane": Technique(None, _IMAGING),
    "PlaneSegmentation": Technique(None, _IMAGING),
    "Position": Technique("behavioral technique", _BEHAVIOR),
    "SpatialSeries": Technique("behavioral technique", _BEHAVIOR),
    "BehavioralEpochs": Technique("behavioral technique", _BEHAVIOR),
    "BehavioralEvents": Technique("behavioral technique", _BEHAVIOR),
    "BehavioralTimeSeries": Technique("behavioral technique", _BEHAVIOR),
    "PupilTracking": Technique("behavioral technique", _BEHAVIOR),
    "EyeTracking": Technique("behavioral technique", _BEHAVIOR),
    "CompassDirection": Technique("behavioral technique", _BEHAVIOR),
    "ProcessingModule": Technique("analytical technique", None),
    "RGBImage": Technique("photographic technique", None),
    "DecompositionSeries": Technique("fourier analysis technique", None),
    "Units": Technique(_SORTING, _EPHYS),
    "Spectrum": Technique("fourier analysis technique", None),
    # sic: the official client's key is misspelt, so a real OptogeneticStimulusSite adds
    # nothing; kept so the extracted metadata stays the same as the official client's.
    "OptogeneticStimulusSIte": Technique(None, "optogenetic approach"),
    "OptogeneticSeries": Technique(None, "optogenetic approach"),
}


def _modules(table: dict[str, str]) -> dict[str, str]:
    return {name: module for module, names in table.items() for name in names.split()}


#: neurodata type -> the pynwb module defining it (pynwb 4.2), which is the modality in a
#: DANDI file name. Types of the generic modules in :data:`GENERIC_MODULES` add nothing.
MODALITY_OF_TYPE: dict[str, str] = _modules(
    {
        "base": "BaseImage ExternalImage Image ImageReferences Images ProcessingModule TimeSeries",
        "behavior": "BehavioralEpochs BehavioralEvents BehavioralTimeSeries CompassDirection "
        "EyeTracking Position PupilTracking SpatialSeries",
        # The official client does not skip pynwb.core, so a stored ScratchData gives "core".
        "core": "MultiContainerInterface NWBContainer NWBData NWBDataInterface NWBMixin "
        "ScratchData",
        "device": "Device DeviceModel",
        "ecephys": "ClusterWaveforms Clustering ElectricalSeries ElectrodeGroup EventDetection "
        "EventWaveform FeatureExtraction FilteredEphys LFP SpikeEventSeries",
        "file": "LabMetaData NWBFile Subject",
        "icephys": "CurrentClampSeries CurrentClampStimulusSeries IZeroClampSeries "
        "IntracellularElectrode PatchClampSeries VoltageClampSeries VoltageClampStimulusSeries",
        "image": "GrayscaleImage ImageMaskSeries ImageSeries IndexSeries OpticalSeries "
        "RGBAImage RGBImage",
        "misc": "AbstractFeatureSeries AnnotationSeries DecompositionSeries IntervalSeries",
        "ogen": "OptogeneticSeries OptogeneticStimulusSite",
        "ophys": "CorrectedImageStack DfOverF Fluorescence ImageSegmentation ImagingPlane "
        "MotionCorrection OnePhotonSeries OpticalChannel RoiResponseSeries TwoPhotonSeries",
    }
)
GENERIC_MODULES = frozenset({"base", "device", "file", "misc"})


def modalities(type_names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The sorted modalities of a file from its neurodata type names (counts allowed:
    ``"ElectricalSeries (2)"``), e.g. ``("behavior", "ecephys")``."""
    found = set()
    for entry in type_names:
        parts = entry.split()
        module = MODALITY_OF_TYPE.get(parts[0]) if parts else None
        if module is not None and module not in GENERIC_MODULES:
            found.add(module)
    return tuple(sorted(found))
