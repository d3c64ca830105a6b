"""HTTP routes: readiness."""

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import DbSession

router = APIRouter(tags=["system"])


@router.get("/healthz")
def healthz(session: DbSession) -> dict[str, str]:
    """Answers once the service has migrated its database and can reach it."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
