"""`gatewatch serve`: the API, the web page and the local worker in one process."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, help="Port to listen on."),
    ) -> None:
        """Start the service (API, web page, local indexing worker) and print its URL."""
        import uvicorn

        from api.app import create_app
        from api.cli.common import console

        console.print(f"gatewatch is starting at [bold]http://{host}:{port}/[/]", highlight=False)
        uvicorn.run(create_app(), host=host, port=port, log_level="info")
