"""HTTP routes: web."""

from fastapi import APIRouter

router = APIRouter()
