"""pytest configuration for the crosswalk tests; the helpers live in crosswalk_support.py."""

import pytest
from crosswalk_support import FIXTURES


@pytest.fixture
def fixtures_dir():
    """The copied sample data (tests/fixtures), never /work/shared."""
    return FIXTURES
