"""Every address in France, in the project's own database: the Base Adresse
Nationale export imported per département (`voisinage import-addresses`), and a
search that forgives abbreviations, missing accents and typos."""
