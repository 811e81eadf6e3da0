"""HTTP only: routes, dependencies, error mapping."""

from fastapi import APIRouter

from app.api import (
    audit,
    bulk,
    indicators,
    meta,
    orgunits,
    persons,
    reorganisations,
    statistics,
    training,
    training_needs,
)

api_router = APIRouter(prefix="/api/v1")
for module in (meta, orgunits, reorganisations, persons, statistics, training, bulk, indicators, training_needs, audit):
    api_router.include_router(module.router)
