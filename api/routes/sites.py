"""HTTP routes: sites."""

from fastapi import APIRouter

router = APIRouter()
