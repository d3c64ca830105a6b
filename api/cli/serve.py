"""`gatewatch serve`: the API, the web page and the local worker, in one or several server processes."""

from __future__ import annotations

import typer

app = typer.Typer()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, max=32,
        help="Server processes, each listening on the port with a socket of its own, so connections spread over "
             "them. 2 on a 2-core machine roughly doubles searches a second; the background loops (indexing pool, "
             "audit checkpoints) still run once.",
    ),
) -> None:
    """Start the service (API, web page, local indexing worker) and print its URL.

    X-Forwarded-For is believed only from GATEWATCH_TRUSTED_PROXIES (addresses or CIDRs, comma-separated).
    """
    from api.cli.common import console
    from api.serving import proxy_options, run

    console.print(f"gatewatch is starting at [bold]http://{host}:{port}/[/]"
                  + (f" ({workers} processes)" if workers > 1 else ""), highlight=False)
    # Several processes listen with sockets of their own (SO_REUSEPORT), so connections spread over them.
    status = run(host, port, workers, log_level="info", **proxy_options())
    if status:
        raise typer.Exit(status)
