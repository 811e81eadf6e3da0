"""The auditors' dashboard and reports: server-rendered pages, inline SVG charts, XLSX and PDF files."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.schemas.common import PROBLEM_RESPONSES
from app.web import pages, person_page, pool_page, reports, training_page
from app.web.view import HERE


def install(app: FastAPI) -> None:
    """Mount the dashboard, its static files and the report endpoints (before the API router: see reports)."""
    app.include_router(reports.api_router, responses=PROBLEM_RESPONSES)
    app.include_router(pages.router)
    app.include_router(person_page.router)
    app.include_router(training_page.router)
    app.include_router(pool_page.router)
    app.include_router(reports.router)
    app.mount("/dashboard/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")
