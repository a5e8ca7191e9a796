"""Mapping quality of a source, for the admin pages: the share of its records that have
each DataCite property, and a chart of its runs' records and failures over time (an SVG
drawn here, on the server: no chart library, no CDN)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from catalogue.store import HarvestRun, Store

SAMPLE = 5000
"""Records of a source examined (a sample of larger sources)."""


def _people(md: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in md.get("creators") or [] if isinstance(p, dict)]


def _has_orcid(md: dict[str, Any]) -> bool:
    return any(
        "orcid" in str(n.get("nameIdentifierScheme", "")).lower()
        or "orcid.org" in str(n.get("nameIdentifier", ""))
        for p in _people(md)
        for n in p.get("nameIdentifiers") or []
        if isinstance(n, dict)
    )


def _has_doi(md: dict[str, Any]) -> bool:
    return any(
        isinstance(i, dict) and str(i.get("identifierType", "")).upper() == "DOI"
        for i in md.get("identifiers") or []
    )


PROPERTIES: tuple[tuple[str, Callable[[dict[str, Any]], bool]], ...] = (
    ("titles", lambda md: bool(md.get("titles"))),
    ("creators", lambda md: bool(_people(md))),
    ("ORCIDs", _has_orcid),
    ("affiliations", lambda md: any(p.get("affiliation") for p in _people(md))),
    ("DOI", _has_doi),
    ("dates", lambda md: bool(md.get("dates") or md.get("publicationYear"))),
    ("subjects", lambda md: bool(md.get("subjects"))),
    ("rights", lambda md: bool(md.get("rightsList"))),
    ("descriptions", lambda md: bool(md.get("descriptions"))),
    ("resource type", lambda md: bool((md.get("types") or {}).get("resourceTypeGeneral"))),
    ("geo locations", lambda md: bool(md.get("geoLocations"))),
)


@dataclass
class QualityReport:
    examined: int
    shares: list[tuple[str, int, float]]  # property, records having it, share


def quality_report(store: Store, source: str) -> QualityReport:
    records = store.source_metadata(source, SAMPLE)
    shares = []
    for name, test in PROPERTIES:
        having = sum(1 for md in records if test(md))
        shares.append((name, having, having / len(records) if records else 0.0))
    return QualityReport(len(records), shares)


def runs_chart_svg(runs: Sequence[HarvestRun], width: int = 720, height: int = 220) -> str:
    """Bars of each finished run's records (added + updated + unchanged) and failures,
    oldest left; an SVG document fragment with a title and text labels for screen readers."""
    done = [r for r in runs if r.finished_at is not None][-60:]
    pad_left, pad_bottom, pad_top = 48, 28, 16
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="chart-title" class="chart">',
        '<title id="chart-title">Records and failures per run, oldest first</title>',
    ]
    if not done:
        parts.append(f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle">'
                     "no finished runs yet</text></svg>")  # fmt: skip
        return "".join(parts)
    seen = [r.counts.added + r.counts.updated + r.counts.unchanged + r.counts.deleted for r in done]
    failed = [r.counts.failed for r in done]
    top = max(max(seen), max(failed), 1)
    slot = plot_w / len(done)
    bar = max(1.0, slot * 0.4)
    base = pad_top + plot_h
    parts.append(f'<line x1="{pad_left}" y1="{base}" x2="{width - 8}" y2="{base}" '
                 'stroke="#888"/>')  # fmt: skip
    parts.append(f'<text x="{pad_left - 6}" y="{pad_top + 4}" text-anchor="end" '
                 f'font-size="11">{top}</text>')  # fmt: skip
    parts.append(f'<text x="{pad_left - 6}" y="{base}" text-anchor="end" font-size="11">0</text>')
    for i, run in enumerate(done):
        x = pad_left + i * slot + slot * 0.1
        h_seen = plot_h * seen[i] / top
        h_fail = plot_h * failed[i] / top
        label = escape(f"run {run.id} {run.started_at:%Y-%m-%d %H:%M}: {seen[i]} records, "
                       f"{failed[i]} failed, {run.status}")  # fmt: skip
        colour = "#2f6fb0" if run.status == "succeeded" else "#b07a2f"
        parts.append(
            f"<g><title>{label}</title>"
            f'<rect x="{x:.1f}" y="{base - h_seen:.1f}" width="{bar:.1f}" height="{h_seen:.1f}" '
            f'fill="{colour}"/>'
            f'<rect x="{x + bar:.1f}" y="{base - h_fail:.1f}" width="{bar:.1f}" '
            f'height="{h_fail:.1f}" fill="#c0392b"/></g>'
        )
    first, last = done[0].started_at, done[-1].started_at
    parts.append(f'<text x="{pad_left}" y="{height - 8}" font-size="11">{first:%Y-%m-%d %H:%M}'
                 "</text>")  # fmt: skip
    parts.append(f'<text x="{width - 8}" y="{height - 8}" font-size="11" text-anchor="end">'
                 f"{last:%Y-%m-%d %H:%M}</text>")  # fmt: skip
    parts.append(
        f'<g font-size="11"><rect x="{width - 230}" y="2" width="10" height="10" fill="#2f6fb0"/>'
        f'<text x="{width - 216}" y="11">records</text>'
        f'<rect x="{width - 150}" y="2" width="10" height="10" fill="#c0392b"/>'
        f'<text x="{width - 136}" y="11">failed</text></g></svg>'
    )
    return "".join(parts)
