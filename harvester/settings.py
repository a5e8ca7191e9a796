"""The harvester's settings: plain typed values, without defaults of their own.

The harvester never reads configuration: whoever runs it (the catalogue, from the
``[harvest]`` section of its config, or a test) builds a :class:`HarvestSettings` and
passes it in. So the default values live in one place, the caller's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HarvestSettings:
    """How harvests talk to sources (HTTP) and how runs treat what they read."""

    timeout: float  # HTTP timeout per socket read, seconds
    response_timeout: float  # longest a whole response may take, body included, seconds
    max_retries: int  # retries of transient HTTP failures
    backoff: float  # base of the exponential backoff between retries, seconds
    overlap_seconds: float  # incremental runs start this long before the last run's start
    window: str  # OAI-PMH lists in date windows: "month", "week", "day" or "" (one list)
    max_page_bytes: int  # largest response body accepted
    user_agent: str
    # CIDR ranges no request may reach (harvester.url_policy).
    deny_networks: tuple[str, ...]
    max_delete_fraction: float  # safety valve of full REST runs without a deletion feed
    # Not configured but derived by the caller (from its secret and database): the id of
    # the catalogue running the harvest; a response carrying it is refused (no self-harvest).
    instance_id: str | None = None

    @property
    def retry_wait_budget(self) -> float:
        """The most one request may spend waiting between its retries, seconds."""
        return self.timeout * self.max_retries
