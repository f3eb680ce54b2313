"""Raw SQL rows with the Python values Piccolo's select gives, and whole
rows of a table read by raw SQL turned back into its objects."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Any, TypeVar

from piccolo.columns import JSON, JSONB, Boolean, Column, Date, Timestamp, Timestamptz
from piccolo.query.methods.raw import Raw
from piccolo.table import Table

T = TypeVar("T", bound=Table)


def _to_datetime(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _to_date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _load_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# Per kind of column: the Python type Piccolo gives, and how to get it from what SQLite stores.
_DATETIME = (datetime, _to_datetime)
_DATE = (date, _to_date)
_BOOL = (bool, bool)
_JSON = ((dict, list), _load_json)


def _converter(kind: type[Column], load_json: bool) -> tuple[type | tuple[type, ...], Callable[[Any], Any]] | None:
    if issubclass(kind, (Timestamptz, Timestamp)):
        return _DATETIME
    if issubclass(kind, Date):
        return _DATE
    if issubclass(kind, Boolean):
        return _BOOL
    if load_json and issubclass(kind, (JSON, JSONB)):
        return _JSON
    return None


@cache
def _columns_by_name(table: type[Table]) -> dict[str, Column]:
    return {c._meta.db_column_name: c for c in table._meta.columns}


async def rows(query: Raw, *, types: Mapping[str, Column] | None = None, load_json: bool = False) -> list[dict]:
    """Runs `Table.raw(sql, *args)`; each row a dict of the Python values
    Piccolo's select gives (datetime, date, bool).

    SQLite types a value by the declared type of the column it comes from;
    one computed by an expression comes back as stored (timestamps as text,
    booleans as 0/1). Values under a column name of the query's table, and
    under the labels in `types` (label -> the column it carries), are
    converted, so a value of another kind takes another label; `load_json`
    also decodes JSON, as Piccolo's `output(load_json=True)` does.
    """
    result = await query
    if not result:
        return result
    converters = []
    for key, (python_type, convert) in _convertible(query.table, _types_key(types), tuple(result[0]), load_json):
        # A result column comes back typed in every row or in none (the
        # engine decides per column): one value tells, and a page whose
        # values are typed already costs no conversion (the common case).
        sample = next((row[key] for row in result if row[key] is not None), None)
        if sample is not None and not isinstance(sample, python_type):
            converters.append((key, convert))
    if converters:
        for row in result:
            for key, convert in converters:
                if row[key] is not None:
                    row[key] = convert(row[key])
    return result


def _types_key(types: Mapping[str, Column] | None) -> tuple:
    # What a value is converted to depends on its column's kind only.
    return tuple((label, type(column)) for label, column in types.items()) if types else ()


@lru_cache(maxsize=1024)
def _convertible(table: type[Table], types: tuple, keys: tuple[str, ...], load_json: bool) -> tuple:
    """The result columns that may need converting, and how: worked out once
    per query shape (a feed page asked it of 35 columns each time)."""
    kinds = {name: type(column) for name, column in _columns_by_name(table).items()}
    kinds.update(types)
    found = []
    for key in keys:
        kind = kinds.get(key)
        converter = _converter(kind, load_json) if kind is not None else None
        if converter is not None:
            found.append((key, converter))
    return tuple(found)


def select_list(table: type[Table], alias: str) -> str:
    """Every column of the table, for a raw SELECT that reads whole rows
    (`as_object` turns them back into the table's objects)."""
    return ", ".join(f'{alias}."{name}"' for name in _columns_by_name(table))


def as_object(table: type[T], row: Mapping[str, Any]) -> T:
    """A row read by raw SQL as the table's object, known to exist (its
    `save()` updates); keys that are not the table's columns are left out."""
    every, names, attributes = _object_plan(table)
    if not every.issubset(row.keys()):
        columns = _columns_by_name(table)
        found = table(_ignore_missing=True, **{name: row[name] for name in columns if name in row})
        found._exists_in_db = True
        return found
    # Every column is there (a SELECT of `select_list`, as the session lookup
    # of every request): what Piccolo's constructor would do, without its
    # search for defaults, a tenth of a signed-in request's cost. Piccolo's
    # columns keep an object's values in its __dict__ under their names.
    found = table.__new__(table)
    found.__dict__.update(zip(attributes, map(row.__getitem__, names), strict=True))
    found._exists_in_db = True
    found._was_created = None
    return found


@cache
def _object_plan(table: type[Table]) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]:
    """The table's column names (as a set, and in order) and the attribute each is kept under."""
    columns = _columns_by_name(table)
    return frozenset(columns), tuple(columns), tuple(column._meta.name for column in columns.values())


async def held_row(table: type[Table], row_id: int) -> dict | None:
    """The row, held until the transaction ends: FOR UPDATE on PostgreSQL; on
    SQLite the transaction (BEGIN IMMEDIATE) holds the one writer's lock
    already. What hands out a limited thing (seats, places, votes) reads its
    counters here before it moves them, so two clicks never both see the last one."""
    if table._meta.db.engine_type == "postgres":
        found = await table.raw(f"SELECT * FROM {table._meta.tablename} WHERE id = {{}} FOR UPDATE", row_id)
        return dict(found[0]) if found else None
    return await table.select().where(table.id == row_id).first()
