"""HTTP only: routes, dependencies, error mapping."""

from fastapi import APIRouter

from app.api import audit, bulk, indicators, meta, orgunits, persons, reorganisations, statistics, training_plans

api_router = APIRouter(prefix="/api/v1")
for module in (meta, orgunits, reorganisations, persons, statistics, training_plans, bulk, indicators, audit):
    api_router.include_router(module.router)
