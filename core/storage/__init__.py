"""Storage: the local SQLite store, its event log and projections."""
