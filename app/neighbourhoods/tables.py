from piccolo.columns import JSON, Boolean, DoublePrecision, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table


class Neighbourhood(Table, tablename="neighbourhood"):
    slug = Varchar(length=80, unique=True, index=True)
    name = Varchar(length=120)
    city = Varchar(length=120)
    postcode = Varchar(length=10)
    # GeoJSON geometry ([lon, lat] order); the bounding box beside it lets
    # lookups pick a handful of candidates by index before shapely decides.
    boundary = JSON()
    min_lat = DoublePrecision(index=True)
    max_lat = DoublePrecision()
    min_lon = DoublePrecision()
    max_lon = DoublePrecision()
    centre_lat = DoublePrecision()
    centre_lon = DoublePrecision()
    status = Varchar(length=10, default="open")  # open | forming
    # The official code of the area the boundary comes from (an IRIS code),
    # empty for drawn quartiers and the 800 m circles of waiting lists.
    area_code = Varchar(length=20, default="")
    requires_verification = Boolean(default=False)
    # Kept in step with memberships so that the header never counts rows.
    member_count = Integer(default=0)
    # Kept in step with neighbourhood_nearby, so that the feed knows whether to
    # offer its "quartiers voisins" chip without a query.
    nearby_count = Integer(default=0)
    created_at = Timestamptz()

    @property
    def area_kind(self) -> str:
        """What a waiting neighbour is told they wait with: "iris" (the neighbours of their IRIS),
        "commune" (a commune not split into IRIS is one area, code ending in 0000:
        app.neighbourhoods.importing), "" (a drawn quartier or an 800 m circle)."""
        if not self.area_code:
            return ""
        return "commune" if self.area_code.endswith("0000") else "iris"


class NeighbourhoodNearby(Table, tablename="neighbourhood_nearby"):
    """Two quartiers whose boundaries touch or lie within 1 km: "quartiers
    voisins". Stored both ways round, so one indexed read answers for either
    (app.neighbourhoods.nearby keeps it in step with the boundaries)."""

    neighbourhood = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade, index=True)
    nearby = ForeignKey(references=Neighbourhood, on_delete=OnDelete.cascade, index=True)
    # Between the boundaries, 0 when they touch: the closest are listed first.
    distance_m = Integer(default=0)
