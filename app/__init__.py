"""Voisinage: the neighbourhood network."""
