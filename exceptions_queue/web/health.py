"""The liveness probe: ``GET /healthz`` answers without a session, for load balancers and process monitors."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/healthz")
def health() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the process serves requests; it looks at nothing else."""
    return {"status": "ok"}


__all__ = ["router"]
