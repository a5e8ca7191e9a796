"""The offline XSD validator of ../shared/xsd (tests/xsd/validate.py, kept verbatim) over
the schemas the package ships.

validate.py reads every schema relative to its own folder (``HERE``). The DataCite, oai_dc,
Dublin Core and xml.xsd schemas exist once, as package data (catalogue/schemas/xsd);
tests/xsd holds only validate.py and the OAI-PMH envelope, oai-identifier and provenance
schemas the package does not need. So ``HERE`` is pointed at a folder of symbolic links to
both, made once per test process.
"""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalogue.web.xsd import XSD_DIR

TESTS_XSD = Path(__file__).resolve().parent / "xsd"
# The W3C xml.xsd: the package keeps one copy at its root; kernel-3 imports it from here.
_ALIASES = {"datacite/kernel-3/include/xml.xsd": "xml.xsd"}


def _linked_schemas() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="xsd-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    sources = [(XSD_DIR, p) for p in XSD_DIR.rglob("*.xsd")]
    sources += [(TESTS_XSD, p) for p in TESTS_XSD.rglob("*.xsd")]
    for root, path in sources:
        link = folder / path.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
    for alias, target in _ALIASES.items():
        if not (folder / alias).exists():
            (folder / alias).parent.mkdir(parents=True, exist_ok=True)
            (folder / alias).symlink_to(XSD_DIR / target)
    return folder


def _load() -> Callable[..., Any]:
    spec = importlib.util.spec_from_file_location("xsd_validate", TESTS_XSD / "validate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.HERE = _linked_schemas()
    return module.validate


validate = _load()
