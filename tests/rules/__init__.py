"""Pure tests of the rules package: no database, no Flask."""
