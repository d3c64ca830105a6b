"""HTTP routes: cases."""

from fastapi import APIRouter

router = APIRouter()
