"""HTTP only: routes, dependencies, error mapping."""

from fastapi import APIRouter

from app.api import audit, bulk, indicators, meta, orgunits, persons, statistics

api_router = APIRouter(prefix="/api/v1")
for module in (meta, orgunits, persons, statistics, bulk, indicators, audit):
    api_router.include_router(module.router)
