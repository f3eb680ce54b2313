"""Routes of the events domain."""

ROUTES: list = []
