"""`gatewatch users ...`: add, list, disable users and rotate their tokens. Every change is audited."""

from __future__ import annotations

import typer

from api.cli.common import LOCAL, cli_user, console, database, fail, print_json, say_rows
from api.users import UserError, create_user, disable_user, list_users, rotate_token, user_dict


def _describe(data: dict) -> str:
    sites = ", ".join(data["sites"]) or ("every site" if data["role"] != "manager" else "none")
    state = " (disabled)" if data["disabled"] else ""
    return f"{data['name']}: {data['role']}, {sites}{state}"


users = typer.Typer(help="Users, their roles, sites and tokens.", no_args_is_help=True)


@users.command("add")
def add(
    name: str = typer.Argument(..., help="User name (letters, digits, '.', '_', '@', '-')."),
    role: str = typer.Option(..., "--role", help="admin, officer or manager."),
    site: list[str] = typer.Option(
        [], "--site", help="Site the user may reach (repeat for officers; exactly one for managers)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a user and print its token, once (only its hash is stored)."""
    try:
        with database() as session:
            user, token = create_user(session, name, role, site, actor=cli_user(), remote_addr=LOCAL)
            data = user_dict(user)
    except UserError as exc:
        fail(str(exc))
    _print_token(data, token, json_out, f"created {_describe(data)}; the token below is shown only now:")


@users.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every user with role, sites and whether disabled."""
    with database() as session:
        rows = [user_dict(user) for user in list_users(session)]
    say_rows(rows, json_out, _describe, "no users yet; add one with 'gatewatch users add NAME --role admin'")


@users.command("disable")
def disable(name: str = typer.Argument(..., help="User name."),
            json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Disable a user: their token and web sessions stop working at once."""
    try:
        with database() as session:
            user = disable_user(session, name, actor=cli_user(), remote_addr=LOCAL)
            data = user_dict(user)
    except UserError as exc:
        fail(str(exc))
    if json_out:
        print_json(data)
    else:
        typer.echo(f"disabled {_describe(data)}")


@users.command("rotate-token")
def rotate(name: str = typer.Argument(..., help="User name."),
           json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Give a user a new token and print it once; the old token and its web sessions stop working."""
    try:
        with database() as session:
            user, token = rotate_token(session, name, actor=cli_user(), remote_addr=LOCAL)
            data = user_dict(user)
    except UserError as exc:
        fail(str(exc))
    _print_token(data, token, json_out, f"new token for {_describe(data)}; shown only now:")


def _print_token(data: dict[str, object], token: str, json_out: bool, heading: str) -> None:
    """A new token goes out once: in the JSON, or under a heading with nothing else on its line (for scripts)."""
    if json_out:
        print_json({**data, "token": token})
        return
    console.print(heading, highlight=False)
    typer.echo(token)
