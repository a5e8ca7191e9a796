"""The `catalogue` command: sources, harvest, runs, scheduler, serve, indexer, reindex,
remap, demo and tokens, one module per family of commands (each registers itself on
the root group of :mod:`catalogue.cli.base`)."""

from __future__ import annotations

from catalogue.cli import demo, harvesting, processes, sources, tokens
from catalogue.cli.base import main

__all__ = ["demo", "harvesting", "main", "processes", "sources", "tokens"]
