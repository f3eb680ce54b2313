"""Routes of the messages domain."""

ROUTES: list = []
