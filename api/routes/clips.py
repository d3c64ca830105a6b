"""HTTP routes: clips."""

from fastapi import APIRouter

router = APIRouter()
