"""Keyset pagination: a page of a list, and the cursor of the next."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from piccolo.columns import Column
from piccolo.query import Select
from piccolo.query.methods.raw import Raw
from piccolo.querystring import QueryString

from app.db.rows import rows

Cursor = Any  # the last row's value of the keyset's column, a tuple for several


def split(found: list[dict], size: int, keys: tuple[str, ...]) -> tuple[list[dict], Cursor | None]:
    """The first `size` rows of the `size + 1` read, and the next page's
    cursor: the last row's values under `keys` (None on the last page)."""
    if len(found) <= size:
        return found, None
    found = found[:size]
    last = tuple(found[-1][key] for key in keys)
    return found, last if len(last) > 1 else last[0]


class Keyset:
    """The order a list is paged in: by these columns, the last one unique
    (an id), each page starting after the last row of the one before. Read
    through an index on the list's filter columns followed by these, a page
    costs the same at any depth (OFFSET would read every row it skips).

    Columns are SQL expressions ("p.id") for raw SQL, or Piccolo columns;
    `keys` name the row keys that hold their values when the SELECT labels
    them otherwise (by default: the column's name after its table alias).
    """

    def __init__(self, *columns: str | Column, descending: bool = False, keys: Iterable[str] = ()) -> None:
        self.columns = columns
        self.descending = descending
        self.keys = tuple(keys) or tuple(
            c.rpartition(".")[2].strip('"') if isinstance(c, str) else c._meta.db_column_name for c in columns
        )

    def _values(self, cursor: Cursor) -> tuple:
        return tuple(cursor) if len(self.columns) > 1 else (cursor,)

    def sql(self, query: QueryString, cursor: Cursor | None, size: int) -> QueryString:
        """The query, which ends with its WHERE clause, cut to the page after
        `cursor` plus one row (which tells whether another page follows)."""
        # The query's own text and values carried on, not nested: a nested
        # QueryString costs its compiling again on every page read.
        template, args = query.template, list(query.args)
        if cursor is not None:
            op = "<" if self.descending else ">"
            values = self._values(cursor)
            # (a > x OR (a = x AND b > y)): after (x, y) in the order of an
            # index on (…, a, b), which both engines read as one range.
            terms = []
            for i, column in enumerate(self.columns):
                term = " AND ".join([*(f"{c} = {{}}" for c in self.columns[:i]), f"{column} {op} {{}}"])
                terms.append(term if i == 0 else f"({term})")
                args += [*values[:i], values[i]]
            template += " AND " + (terms[0] if len(terms) == 1 else f"({' OR '.join(terms)})")
        order = ", ".join(f"{c} DESC" if self.descending else str(c) for c in self.columns)
        args.append(size + 1)
        return QueryString(template + f" ORDER BY {order} LIMIT {{}}", *args)

    def union(self, queries: list[QueryString], cursor: Cursor | None, size: int) -> QueryString:
        """Several lists merged into one page, each read through its own index
        and cut to the page before the merge cuts again: the cost is the
        number of lists times a page, whatever the tables hold."""
        parts = [self.sql(query, cursor, size) for query in queries]
        merged = " UNION ALL ".join(f"SELECT * FROM ({part.template}) AS part_{i}" for i, part in enumerate(parts))
        order = ", ".join(f"{key} DESC" if self.descending else key for key in self.keys)
        return QueryString(
            merged + f" ORDER BY {order} LIMIT {{}}", *(arg for part in parts for arg in part.args), size + 1
        )

    def select(self, query: Select, cursor: Cursor | None, size: int) -> Select:
        """The Piccolo query cut to the page after `cursor` plus one row."""
        if cursor is not None:
            values = self._values(cursor)
            after = None
            for i, column in enumerate(self.columns):
                term = column < values[i] if self.descending else column > values[i]
                for previous, value in zip(self.columns[:i], values[:i], strict=False):
                    term = (previous == value) & term
                after = term if after is None else after | term
            query = query.where(after)
        return query.order_by(*self.columns, ascending=not self.descending).limit(size + 1)

    def split(self, found: list[dict], size: int) -> tuple[list[dict], Cursor | None]:
        """The page, and the cursor of the next one (None on the last page)."""
        return split(found, size, self.keys)


async def keyset_page(
    query: Select | Raw,
    keyset: Keyset,
    *,
    cursor: Cursor | None = None,
    size: int,
    types: Mapping[str, Column] | None = None,
    load_json: bool = False,
) -> tuple[list[dict], Cursor | None]:
    """One page of a Piccolo select or of a raw SQL query (`Table.raw(sql,
    *args)`, its SQL ending with its WHERE clause) in the keyset's order,
    after `cursor` (None: the first page); and the next page's cursor."""
    if isinstance(query, Raw):
        found = await rows(
            Raw(query.table, querystring=keyset.sql(query.querystring, cursor, size)), types=types, load_json=load_json
        )
    else:
        found = await keyset.select(query, cursor, size)
    return keyset.split(found, size)
