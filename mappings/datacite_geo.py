"""DataCite geoLocation: kernel-3 space-separated strings and kernel-4 element forms."""

from __future__ import annotations

import math

from lxml import etree

from mappings._shared import elements, first, local, named, text

_BOX_SIDES = (
    "westBoundLongitude",
    "eastBoundLongitude",
    "southBoundLatitude",
    "northBoundLatitude",
)


def geo_locations(el: etree._Element, warnings: list[str]) -> list[dict]:
    """One <geoLocation> as canonical geoLocations (one more per extra polygon).

    Invalid or out-of-range coordinates are dropped with a warning.
    """
    place = first(el, "geoLocationPlace")
    point = first(el, "geoLocationPoint")
    box = first(el, "geoLocationBox")
    polygons = [_polygon(p, warnings) for p in named(el, "geoLocationPolygon")] or [[]]
    main = {
        "geoLocationPlace": text(place),
        "geoLocationPoint": _point(point, warnings) if point is not None else None,
        "geoLocationBox": _box(box, warnings) if box is not None else None,
        "geoLocationPolygon": polygons[0],
    }
    # The canonical shape holds one polygon per geoLocation: extra polygons get their own.
    return [main] + [{"geoLocationPolygon": polygon} for polygon in polygons[1:]]


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _checked_point(lat: float | None, lon: float | None, warnings: list[str]) -> dict | None:
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        warnings.append(f"invalid geoLocation point ({lat}, {lon}) dropped")
        return None
    return {"pointLongitude": lon, "pointLatitude": lat}


def _point(el: etree._Element, warnings: list[str]) -> dict | None:
    if elements(el):
        lat = _number(text(first(el, "pointLatitude")))
        lon = _number(text(first(el, "pointLongitude")))
        if lat is None and lon is None:
            return None
        return _checked_point(lat, lon, warnings)
    raw = text(el)
    if not raw:
        return None
    # Kernel 3: "latitude longitude".
    parts = raw.split()
    if len(parts) != 2:
        warnings.append(f"unparseable geoLocationPoint '{raw}'")
        return None
    return _checked_point(_number(parts[0]), _number(parts[1]), warnings)


def _box(el: etree._Element, warnings: list[str]) -> dict | None:
    if elements(el):
        values = {side: _number(text(first(el, side))) for side in _BOX_SIDES}
        if all(v is None for v in values.values()):
            return None
    else:
        raw = text(el)
        if not raw:
            return None
        # Kernel 3: "south west north east" (lower-left corner, then upper-right, lat lon each).
        parts = [_number(p) for p in raw.split()]
        if len(parts) != 4:
            warnings.append(f"unparseable geoLocationBox '{raw}'")
            return None
        south, west, north, east = parts
        values = dict(zip(_BOX_SIDES, (west, east, south, north), strict=True))
    lons_ok = all(v is not None and -180 <= v <= 180 for k, v in values.items() if "Long" in k)
    lats_ok = all(v is not None and -90 <= v <= 90 for k, v in values.items() if "Lat" in k)
    if not (lons_ok and lats_ok):
        warnings.append(f"invalid geoLocationBox {values} dropped")
        return None
    return values


def _polygon(polygon: etree._Element, warnings: list[str]) -> list[dict]:
    result = []
    for child in elements(polygon):
        if local(child) not in ("polygonPoint", "inPolygonPoint"):
            continue
        point = _point(child, warnings)
        if point:
            result.append({local(child): point})
    return result
