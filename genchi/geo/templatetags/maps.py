"""`{% genchi_map layers "case-map" %}`: a map of `genchi.geo.maps.MapLayers`."""

from __future__ import annotations

from django import template
from django.conf import settings

from genchi.geo.maps import MapLayers

register = template.Library()


@register.inclusion_tag("geo/_map.html")
def genchi_map(layers: MapLayers, map_id: str, size: str = "large", label: str = "") -> dict:
    return {
        "map_id": map_id,
        "data_id": f"{map_id}-data",
        "data": layers.as_json(),
        "groups": layers.groups,
        "size": size,
        "label": label,
        "tile_url": settings.GENCHI_MAP_TILE_URL,
        "tile_attribution": settings.GENCHI_MAP_TILE_ATTRIBUTION,
    }
