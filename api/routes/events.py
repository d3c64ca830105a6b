"""HTTP routes: events."""

from fastapi import APIRouter

router = APIRouter()
