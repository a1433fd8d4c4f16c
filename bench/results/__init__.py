"""Results people keep: the declared schema, one record builder per kind of row, atomic CSV/JSON storage."""
