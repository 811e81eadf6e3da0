"""API tests: the registry foundation, driven through HTTP on SQLite and PostgreSQL."""
