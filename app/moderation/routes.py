"""Routes of the moderation domain."""

ROUTES: list = []
