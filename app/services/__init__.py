"""Use cases and their queries; no FastAPI here."""
