"""Routes of the notify domain."""

ROUTES: list = []
