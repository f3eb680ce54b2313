"""Profiles and the "Qui peut m'aider ?" directory."""

ROUTES: list = []
