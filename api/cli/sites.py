"""`gatewatch sites ...` and `gatewatch cameras ...`: the communities, their gates' cameras and zones."""

from __future__ import annotations

from typing import Any

import typer

from api import audit, lifecycle
from api.cli.common import LOCAL, cli_user, console, database, fail, print_json, say, say_rows
from footage.catalogue import CatalogueError, add_camera, add_site, camera_to_dict, list_cameras, list_sites, parse_zone

sites = typer.Typer(help="Sites (residential communities).", no_args_is_help=True)
cameras = typer.Typer(help="Cameras at the sites' gates, with their time zones and zones.", no_args_is_help=True)


@sites.command("add")
def sites_add(
    name: str = typer.Argument(..., help="The site's name, e.g. 'Maple Court'."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a site."""
    try:
        with database() as session:
            site = add_site(session, name)
            audit.record(session, user_name=cli_user(), action="site_create", obj=f"site:{site.name}",
                         remote_addr=LOCAL)
            data = {"id": site.id, "name": site.name, "cameras": []}
    except CatalogueError as exc:
        fail(str(exc))
    say(data, json_out, f"added site {data['name']!r}")


@sites.command("list")
def sites_list(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every site with its cameras."""
    with database() as session:
        rows: list[dict[str, Any]] = [{"id": s.id, "name": s.name, "cameras": [c.id for c in s.cameras]}
                                      for s in list_sites(session)]
    say_rows(rows, json_out, lambda row: f"{row['name']}: {', '.join(row['cameras']) or 'no cameras'}",
             "no sites yet; add one with 'gatewatch sites add NAME'")


@cameras.command("add")
def cameras_add(
    camera_id: str = typer.Argument(..., help="Camera id: letters, digits, '.', '-', '_'."),
    site: str = typer.Option(..., "--site", help="Name of the site it belongs to."),
    gate: str = typer.Option(..., "--gate", help="The gate it watches, e.g. 'North gate'."),
    timezone: str = typer.Option("UTC", "--timezone", help="The recorder's IANA time zone, e.g. Asia/Harbin."),
    zone: list[str] = typer.Option(
        [], "--zone", help="NAME=x1,y1;x2,y2;x3,y3 in 0..1 frame coordinates (repeat for several zones)."
    ),
    clock_offset: float = typer.Option(
        0.0, "--clock-offset", help="Seconds to add to the recorder's clock to get true time."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a camera to a site."""
    try:
        zones: dict[str, list[list[float]]] = {}
        for spec in zone:
            name, polygon = parse_zone(spec)
            if name in zones:
                raise CatalogueError(f"zone {name!r} is given twice; give each zone a different name")
            zones[name] = polygon
        with database() as session:
            camera = add_camera(session, camera_id, site, gate, timezone, zones, clock_offset)
            data = camera_to_dict(camera)
            audit.record(session, user_name=cli_user(), action="camera_create", obj=f"camera:{camera.id}",
                         detail=data, remote_addr=LOCAL)
    except CatalogueError as exc:
        fail(str(exc))
    if json_out:
        print_json(data)
    else:
        console.print(f"added camera {data['id']!r} at {data['site']}, {data['gate']} ({data['timezone']}"
                      f"{', zones ' + ', '.join(data['zones']) if data['zones'] else ''})", highlight=False)


@cameras.command("list")
def cameras_list(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every camera with its site, gate, time zone and zones."""
    with database() as session:
        rows = [camera_to_dict(c) for c in list_cameras(session)]
    say_rows(rows, json_out, _camera_line,
             "no cameras yet; add one with 'gatewatch cameras add ID --site NAME --gate GATE'")


def _camera_line(row: dict[str, Any]) -> str:
    zones = f", zones: {', '.join(row['zones'])}" if row["zones"] else ""
    offset = f", clock {row['clock_offset_s']:+g} s" if row["clock_offset_s"] else ""
    days = row["effective_retain_days"]
    kept = f"kept {days} d" + ("" if row["retain_days"] else " (site default)") if days else "kept for ever"
    return f"{row['id']}: {row['site']}, {row['gate']} ({row['timezone']}{offset}{zones}); {kept}"


@sites.command("set")
def sites_set(
    name: str = typer.Argument(..., help="The site's name."),
    retain_days: int = typer.Option(..., "--retain-days", help="Days footage is kept (0: keep for ever)."),
) -> None:
    """Set the site's default retention."""
    try:
        with database() as session:
            lifecycle.update_site(session, name, retain_days or None, actor=cli_user(), remote_addr=LOCAL)
    except (CatalogueError, lifecycle.LifecycleError) as exc:
        fail(str(exc))
    console.print(f"site {name!r}: footage kept {retain_days or 'for ever'} days", highlight=False)


@cameras.command("set")
def cameras_set(
    camera_id: str = typer.Argument(..., help="The camera's id."),
    retain_days: int | None = typer.Option(None, "--retain-days", help="Days kept (0: the site's default)."),
    gate: str | None = typer.Option(None, "--gate", help="The gate it watches."),
    timezone: str | None = typer.Option(None, "--timezone", help="The recorder's IANA time zone."),
    zone: list[str] = typer.Option([], "--zone", help="NAME=x1,y1;x2,y2;... (replaces all zones; repeat)."),
    plates: str | None = typer.Option(None, "--plates", help="on or off: read licence plates when indexing."),
    forget_plates: bool = typer.Option(False, "--forget-plates",
                                       help="With --plates off: delete the plates already read (open cases keep "
                                            "theirs)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Change a camera's retention, gate, time zone, zones or plate reading."""
    if plates is not None and plates.lower() not in ("on", "off"):
        fail(f"--plates {plates!r}: give on or off")
    try:
        pairs = [parse_zone(spec) for spec in zone]
        if len({name for name, _ in pairs}) < len(pairs):
            raise CatalogueError("a zone is given twice; give each zone a different name")
        zones = dict(pairs) if zone else None
        kwargs: dict[str, Any] = {} if retain_days is None else {"retain_days": retain_days or None}
        if plates is not None:
            kwargs["read_plates"] = plates.lower() == "on"
        with database() as session:
            camera = lifecycle.update_camera(session, camera_id, actor=cli_user(), remote_addr=LOCAL,
                                             gate=gate, timezone=timezone, zones=zones, **kwargs)
            data = camera_to_dict(camera)
            if forget_plates:
                data["plates_forgotten"] = lifecycle.forget_plates(session, camera_id, actor=cli_user(),
                                                                   remote_addr=LOCAL)
    except (CatalogueError, lifecycle.LifecycleError) as exc:
        fail(str(exc))
    if json_out:
        print_json(data)
    else:
        if forget_plates:
            forgotten = data["plates_forgotten"]
            console.print(f"camera {camera_id!r}: {forgotten['forgotten']} plate reads deleted"
                          + (f", {forgotten['kept_for_cases']} kept for open cases"
                             if forgotten["kept_for_cases"] else ""), highlight=False)
        days = data["effective_retain_days"]
        console.print(f"updated camera {camera_id!r}: footage kept {f'{days} days' if days else 'for ever'}"
                      + ("" if data["retain_days"] or not days else " (the site's default)"), highlight=False)

