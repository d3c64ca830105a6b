"""The ``gatewatch`` command line: thin shells over the same service functions as the HTTP API."""
