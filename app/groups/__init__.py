"""Interest groups (jardinage, parents, course à pied, …) of a quartier and its
quartiers voisins: membership, requests, a group's own feed of posts."""
