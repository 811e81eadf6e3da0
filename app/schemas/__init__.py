"""Pydantic I/O contracts, shared by the API and the services."""
