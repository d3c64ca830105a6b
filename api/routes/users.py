"""HTTP routes: users."""

from fastapi import APIRouter

router = APIRouter()
