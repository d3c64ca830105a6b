"""HTTP routes: footage."""

from fastapi import APIRouter

router = APIRouter()
