"""Controlled lists used by the crosswalks: DataCite 4 enumerations, languages, resource types.

Tables only, no logic, so that the normalisers and the exporters agree on one copy.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# resourceTypeGeneral values the canonical schema accepts (DataCite 4.6 list).
RESOURCE_TYPES_GENERAL = _words(
    "Audiovisual Award Book BookChapter Collection ComputationalNotebook ConferencePaper "
    "ConferenceProceeding DataPaper Dataset Dissertation Event Image Instrument "
    "InteractiveResource Journal JournalArticle Model OutputManagementPlan PeerReview "
    "PhysicalObject Preprint Project Report Service Software Sound Standard StudyRegistration "
    "Text Workflow Other"
)

TITLE_TYPES = frozenset({"AlternativeTitle", "Subtitle", "TranslatedTitle", "Other"})

DATE_TYPES = _words(
    "Accepted Available Copyrighted Collected Coverage Created Issued Submitted Updated Valid "
    "Withdrawn Other"
)

DESCRIPTION_TYPES = frozenset(
    {"Abstract", "Methods", "SeriesInformation", "TableOfContents", "TechnicalInfo", "Other"}
)

NAME_TYPES = frozenset({"Personal", "Organizational"})

FUNDER_IDENTIFIER_TYPES = frozenset({"Crossref Funder ID", "GRID", "ISNI", "ROR", "Other"})

CONTRIBUTOR_TYPES = _words(
    "ContactPerson DataCollector DataCurator DataManager Distributor Editor HostingInstitution "
    "Other Producer ProjectLeader ProjectManager ProjectMember RegistrationAgency "
    "RegistrationAuthority RelatedPerson ResearchGroup RightsHolder Researcher Sponsor "
    "Supervisor Translator WorkPackageLeader"
)

# Kernel-4.7 XSD enumerations (the export must stay valid against them).
RELATION_TYPES = _words(
    "IsCitedBy Cites IsSupplementTo IsSupplementedBy IsContinuedBy Continues IsNewVersionOf "
    "IsPreviousVersionOf IsPartOf HasPart IsPublishedIn IsReferencedBy References IsDocumentedBy "
    "Documents IsCompiledBy Compiles IsVariantFormOf IsOriginalFormOf IsIdenticalTo HasMetadata "
    "IsMetadataFor Reviews IsReviewedBy IsDerivedFrom IsSourceOf Describes IsDescribedBy "
    "HasVersion IsVersionOf Requires IsRequiredBy Obsoletes IsObsoletedBy Collects "
    "IsCollectedBy HasTranslation IsTranslationOf Other"
)

RELATED_IDENTIFIER_TYPES = _words(
    "ARK arXiv bibcode CSTR DOI EISSN Handle IGSN ISBN ISSN ISTC LISSN LSID PMID PURL RAiD "
    "RRID SWHID UPC URL URN w3id"
)

XSD_RESOURCE_TYPES_GENERAL = RESOURCE_TYPES_GENERAL | {"Poster", "Presentation"}

# Every ISO 639-1 code.
ISO639_1 = _words(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr "
    "ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw "
    "ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv "
    "ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr "
    "ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu"
)

# (639-1, 639-2/T, 639-2/B or other 3-letter aliases, English names) for the commonest languages.
_LANGUAGES = [
    ("af", "afr", (), ("afrikaans",)),
    ("ar", "ara", (), ("arabic",)),
    ("bg", "bul", (), ("bulgarian",)),
    ("bn", "ben", (), ("bengali", "bangla")),
    ("ca", "cat", (), ("catalan",)),
    ("cs", "ces", ("cze",), ("czech",)),
    ("cy", "cym", ("wel",), ("welsh",)),
    ("da", "dan", (), ("danish",)),
    ("de", "deu", ("ger",), ("german", "deutsch")),
    ("el", "ell", ("gre",), ("greek", "modern greek")),
    ("en", "eng", (), ("english",)),
    ("eo", "epo", (), ("esperanto",)),
    ("es", "spa", (), ("spanish", "castilian", "español", "espanol")),
    ("et", "est", (), ("estonian",)),
    ("eu", "eus", ("baq",), ("basque",)),
    ("fa", "fas", ("per",), ("persian", "farsi")),
    ("fi", "fin", (), ("finnish",)),
    ("fr", "fra", ("fre",), ("french", "français", "francais")),
    ("ga", "gle", (), ("irish",)),
    ("gl", "glg", (), ("galician",)),
    ("he", "heb", (), ("hebrew",)),
    ("hi", "hin", (), ("hindi",)),
    ("hr", "hrv", (), ("croatian",)),
    ("hu", "hun", (), ("hungarian",)),
    ("hy", "hye", ("arm",), ("armenian",)),
    ("id", "ind", (), ("indonesian",)),
    ("is", "isl", ("ice",), ("icelandic",)),
    ("it", "ita", (), ("italian", "italiano")),
    ("ja", "jpn", (), ("japanese",)),
    ("ka", "kat", ("geo",), ("georgian",)),
    ("ko", "kor", (), ("korean",)),
    ("la", "lat", (), ("latin",)),
    ("lt", "lit", (), ("lithuanian",)),
    ("lv", "lav", (), ("latvian",)),
    ("mk", "mkd", ("mac",), ("macedonian",)),
    ("ms", "msa", ("may",), ("malay",)),
    ("mt", "mlt", (), ("maltese",)),
    ("nl", "nld", ("dut",), ("dutch", "flemish", "nederlands")),
    ("no", "nor", (), ("norwegian",)),
    ("nb", "nob", (), ("norwegian bokmål", "bokmål", "bokmal")),
    ("nn", "nno", (), ("norwegian nynorsk", "nynorsk")),
    ("pl", "pol", (), ("polish",)),
    ("pt", "por", (), ("portuguese", "português", "portugues")),
    ("ro", "ron", ("rum",), ("romanian", "moldavian")),
    ("ru", "rus", (), ("russian",)),
    ("sk", "slk", ("slo",), ("slovak",)),
    ("sl", "slv", (), ("slovenian", "slovene")),
    ("sq", "sqi", ("alb",), ("albanian",)),
    ("sr", "srp", (), ("serbian",)),
    ("sv", "swe", (), ("swedish",)),
    ("sw", "swa", (), ("swahili",)),
    ("ta", "tam", (), ("tamil",)),
    ("th", "tha", (), ("thai",)),
    ("tr", "tur", (), ("turkish",)),
    ("uk", "ukr", (), ("ukrainian",)),
    ("ur", "urd", (), ("urdu",)),
    ("vi", "vie", (), ("vietnamese",)),
    ("zh", "zho", ("chi",), ("chinese",)),
]

LANGUAGE_ALIASES: dict[str, str] = {}
for _code, _t, _others, _names in _LANGUAGES:
    for _alias in (_t, *_others, *_names):
        LANGUAGE_ALIASES[_alias] = _code
# code -> the language's English name, for people reading facets and record pages
LANGUAGE_NAMES = {code: names[0].title() for code, _, _, names in _LANGUAGES if names}

# Words some repositories put in dc:language when they mean "no language given".
NO_LANGUAGE = frozenset({"other", "unknown", "none", "n/a", "na", "-"})

# dc:type vocabularies -> resourceTypeGeneral. Keys are lower case with spaces, "_" and "-"
# removed; the value of a prefixed term (info:eu-repo/semantics/x, doc-type:x, DCMI URIs)
# is looked up by its last segment, Zenodo's "publication-x"/"image-x" by the part after "-".
RESOURCE_TYPE_ALIASES = {
    # DCMI Type vocabulary
    "movingimage": "Audiovisual",
    "stillimage": "Image",
    # info:eu-repo/semantics (OpenAIRE) and COAR-like labels
    "article": "JournalArticle",
    "journalarticle": "JournalArticle",
    "contributiontoperiodical": "JournalArticle",
    "review": "Text",
    "bachelorthesis": "Dissertation",
    "masterthesis": "Dissertation",
    "doctoralthesis": "Dissertation",
    "thesis": "Dissertation",
    "book": "Book",
    "bookpart": "BookChapter",
    "section": "BookChapter",
    "conferenceobject": "ConferencePaper",
    "conferencepaper": "ConferencePaper",
    "conferenceposter": "Text",
    "conferenceproceedings": "ConferenceProceeding",
    "lecture": "Text",
    "preprint": "Preprint",
    "report": "Report",
    "technicalreport": "Report",
    "workingpaper": "Report",
    "technicaldocumentation": "Text",
    "technicalnote": "Report",
    "softwaredocumentation": "Text",
    "researchproposal": "Text",
    "proposal": "Text",
    "deliverable": "Report",
    "milestone": "Report",
    "patent": "Text",
    "annotation": "Text",
    "annotationcollection": "Collection",
    "taxonomictreatment": "Text",
    "datamanagementplan": "OutputManagementPlan",
    "peerreview": "PeerReview",
    "other": "Other",
    "dataset": "Dataset",
    "data": "Dataset",
    # Zenodo upload types; DataCite 4.7 Poster/Presentation are outside the canonical list,
    # so they become Text as DataCite advised before 4.7
    "poster": "Text",
    "presentation": "Text",
    "lesson": "Text",
    "video": "Audiovisual",
    "film": "Audiovisual",
    "audio": "Sound",
    "figure": "Image",
    "plot": "Image",
    "drawing": "Image",
    "diagram": "Image",
    "photo": "Image",
    "photograph": "Image",
    "physicalobject": "PhysicalObject",
    "workflow": "Workflow",
    "model": "Model",
    "event": "Event",
    "software": "Software",
    "sourcecode": "Software",
    "interactiveresource": "InteractiveResource",
    "collection": "Collection",
    "image": "Image",
    "text": "Text",
    "sound": "Sound",
    "service": "Service",
}
for _general in RESOURCE_TYPES_GENERAL:
    RESOURCE_TYPE_ALIASES.setdefault(_general.lower(), _general)
