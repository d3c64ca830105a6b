"""Pydantic request and response bodies, one module per resource, so the OpenAPI schema documents itself."""
