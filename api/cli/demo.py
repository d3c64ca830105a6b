"""`gatewatch demo`: what `make run` starts: the sample site imported and indexed, an admin, the service."""

from __future__ import annotations

from pathlib import Path

import typer

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


app = typer.Typer()


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    samples: Path = typer.Option(SAMPLES / "site.json", help="Site configuration whose footage to load."),
) -> None:
    """Load the sample site and footage (once), index it, create an admin, and start the service."""
    from api.cli.common import cli_user, console, database, fail
    from api.cli.indexing import run_index
    from api.ingest import import_paths, load_site_config
    from api.users import ensure_admin
    from footage.catalogue import CatalogueError, ImportStatus
    from footage.settings import get_settings

    if not samples.is_file():
        fail(f"no site configuration at {samples}; pass --samples PATH/site.json")
    with database() as session:
        try:
            config = load_site_config(session, samples)
        except CatalogueError as exc:
            fail(str(exc))
        imported = 0
        for camera in config.cameras:
            if camera.footage is None or not camera.footage.exists():
                continue
            for result in import_paths(session, [camera.footage], camera.camera_id, None, cli_user(), None):
                if result.status == ImportStatus.IMPORTED:
                    imported += 1
                elif result.status == ImportStatus.REFUSED:
                    console.print(f"[yellow]skipped[/] {result.path}: {result.error}", highlight=False)
        token = ensure_admin(session)
    console.print(f"site [bold]{config.site}[/]: {len(config.cameras)} cameras, {imported} new segments",
                  highlight=False)
    summary = run_index(camera=None, since=None, until=None, workers=1, reindex=False, pending=True,
                        engine="local", show_progress=console.is_terminal,
                        plain_progress=not console.is_terminal)
    console.print(f"indexed {summary['done']} segments: {summary['events']} events "
                  f"({summary['speed'] or 0:.1f}x real time)", highlight=False)

    home = get_settings().resolved_home
    token_file = home / "admin-token"
    if token:
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        console.print(f"admin token (shown once, also saved to {token_file}): [bold]{token}[/]", highlight=False)
    elif token_file.exists():
        console.print(f"the admin token is in {token_file}", highlight=False)
    else:
        console.print("an admin exists already; 'gatewatch users rotate-token admin' prints a new token",
                      highlight=False)

    import uvicorn

    from api.app import create_app

    console.print(f"gatewatch is ready at [bold]http://{host}:{port}/[/] (sign in as admin with the token above)",
                  highlight=False)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")

