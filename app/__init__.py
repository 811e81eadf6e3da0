"""Registry of Vietnam's public-sector personnel and the targets set for them."""
