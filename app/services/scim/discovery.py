"""RFC 7644 §4 discovery: ServiceProviderConfig, ResourceTypes and Schemas, all built by scim2-models."""

from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    Filter,
    Meta,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)

from app.services.scim.models import EnterpriseUser, RegistryPerson, RegistrySummary, User, UserResource
from app.services.scim.search import MAX_COUNT

DOCS = "https://datatracker.ietf.org/doc/html/rfc7644"


def config(base_url: str) -> ServiceProviderConfig:
    """What this service provider supports: PATCH, filters, sorting and ETags; no bulk, no passwords."""
    return ServiceProviderConfig(
        patch=Patch(supported=True), bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_COUNT), change_password=ChangePassword(supported=False),
        sort=Sort(supported=True), etag=ETag(supported=True),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="Bearer token", primary=True,
            description="The registry's API tokens (POST /api/v1/tokens), roles admin and integration",
            spec_uri="https://datatracker.ietf.org/doc/html/rfc6750")],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base_url}/ServiceProviderConfig"))


def resource_types(base_url: str) -> list[ResourceType]:
    user = ResourceType.from_resource(UserResource)
    user.description = "Persons of the registry (cadres, civil servants and public employees)"
    user.meta = Meta(resource_type="ResourceType", location=f"{base_url}/ResourceTypes/User")
    return [user]


def schemas(base_url: str) -> list[Schema]:
    """The User schema and its extensions, then the schemas of the discovery resources themselves."""
    out = []
    for model in (User, RegistryPerson, EnterpriseUser, RegistrySummary, ResourceType, ServiceProviderConfig, Schema):
        schema = model.to_schema()
        schema.meta = Meta(resource_type="Schema", location=f"{base_url}/Schemas/{schema.id}")
        out.append(schema)
    return out


def schema_ids() -> set[URN]:
    return {URN(s.id) for s in schemas("") if s.id}
