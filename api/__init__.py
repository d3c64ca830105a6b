"""People in: the FastAPI app, auth and roles, the audit log, the web page and the ``gatewatch`` CLI."""
