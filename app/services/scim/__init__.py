"""SCIM 2.0 provisioning (RFC 7643/7644) of registry persons as Users, on the scim2-models library.

`models` declares the resources, `mapping` turns records into Users and back, `summary` derives the
read-only extensions, `users` reads and writes through app.services.persons, `search` filters, sorts
and pages, `discovery` publishes ServiceProviderConfig, ResourceTypes and Schemas.
"""
