"""Voisinage's migrations, run in the order of their IDs by `voisinage migrate`.

A schema change starts in the table class (app/<domain>/tables.py), then:

    PICCOLO_CONF=app.piccolo_conf piccolo migrations new voisinage --auto --desc "what and why"

Rename the generated file to the next number (voisinage_00NN_topic.py), give
it a unique ID that sorts after the last one, and edit it only where Piccolo
cannot say it: composite and expression indexes, triggers, search tables and
data moves go in an `add_raw` step (see 0002 to 0009), written for SQLite and
PostgreSQL. tests/test_schema.py checks on both engines that the migrated
schema is the declared one, and that `--auto` finds nothing left to do.
"""
