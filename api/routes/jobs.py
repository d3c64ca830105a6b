"""HTTP routes: jobs."""

from fastapi import APIRouter

router = APIRouter()
