"""Harvesters: OAI-PMH (:mod:`harvester.oai`, :mod:`harvester.runs`) and REST APIs
(:mod:`harvester.rest`)."""

from datetime import datetime


def stamp(value: datetime) -> str:
    """Naive UTC ``value`` as ``YYYY-MM-DDThh:mm:ssZ``, as OAI-PMH and the REST APIs'
    update filters take it."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
