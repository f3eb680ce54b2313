"""The imported addresses. Accounts keep their own copy of the chosen label and
point, so a re-import that drops or moves an address never touches an account."""

from piccolo.columns import DoublePrecision, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class AddressImport(Table, tablename="address_import"):
    """One run of `voisinage import-addresses`: its id stamps every row it wrote,
    so what a newer file no longer holds is what an older run stamped."""

    file = Text()
    departments = Text(default="")
    rows = Integer(default=0)
    removed = Integer(default=0)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class AddressWay(Table, tablename="address_way"):
    """A street (or lieu-dit) of one commune and postcode: what the fuzzy index searches."""

    key = Text(unique=True)  # insee|postcode|name
    # Indexed with import_run, (department, import_run), by the migration: the import finds what it replaces.
    department = Varchar(length=3)
    name = Text()
    postcode = Varchar(length=5)
    insee = Varchar(length=5)
    city = Text()
    search = Text()  # words of the name, then of the commune, as app.addresses.text writes them
    import_run = Integer()


class Address(Table, tablename="address"):
    ban_id = Text(unique=True)
    way = Integer(index=False)  # address_way.id; no foreign key (see the migration), the index is (way, number)
    number = Integer()
    rep = Text(default="")
    lon = DoublePrecision()
    lat = DoublePrecision()
    import_run = Integer()
