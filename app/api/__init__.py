"""HTTP only: routes, dependencies, error mapping."""

from fastapi import APIRouter

from app.api import (
    audit,
    bulk,
    indicators,
    meta,
    orgunits,
    persons,
    planning_pools,
    reorganisations,
    statistics,
    training,
    training_needs,
    training_plans,
)

api_router = APIRouter(prefix="/api/v1")
for module in (meta, orgunits, reorganisations, persons, statistics, training, training_plans, bulk, indicators,
               training_needs, planning_pools, audit):
    api_router.include_router(module.router)
