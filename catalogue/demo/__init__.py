"""Demo support: an OAI-PMH replay server over recorded real responses."""

from importlib import resources
from pathlib import Path

# The recorded responses and example records (package data, the one copy of them: the
# tests read them from here too).
DEMO_DATA = Path(str(resources.files(__name__).joinpath("data")))
