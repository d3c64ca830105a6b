"""`gatewatch export` builds a signed evidence package for a case; `gatewatch verify` checks one offline."""

from __future__ import annotations

from pathlib import Path

import typer

from api.auth import Principal
from api.case_audit import add_items_detail, create_detail, export_detail, record_case
from api.cases import (
    CaseError,
    CaseForbidden,
    RangeRequest,
    add_items,
    create_case,
    export_case,
    find_case,
)
from api.cli.common import LOCAL, cli_user, console, database, fail, print_json
from api.models import Role
from footage.evidence import EvidenceError, verify_package
from footage.settings import get_settings
from footage.signing import ALGORITHM, SigningKeyError, existing_public_key_pem, load_or_create


def _operator() -> Principal:
    # Whoever holds a shell on the service's machine can read its database anyway: the CLI acts as an admin.
    return Principal(user_id=0, name=cli_user(), role=Role.ADMIN, site_ids=None)


app = typer.Typer()


@app.command("export")
def export(
    case_name: str = typer.Option(..., "--case", help="Case name; created when it does not exist."),
    event: list[int] = typer.Option([], "--event", help="Event id to add (repeat for more)."),
    camera: str | None = typer.Option(None, "--camera", help="Camera id of a time range to add."),
    from_: str | None = typer.Option(None, "--from", help="Range start, ISO 8601 (camera's zone if no offset)."),
    to: str | None = typer.Option(None, "--to", help="Range end, ISO 8601 (camera's zone if no offset)."),
    reference: str | None = typer.Option(None, "--reference", help="Outside reference (police case number)."),
    pre: float = typer.Option(5.0, "--pre", help="Seconds before each event."),
    post: float = typer.Option(5.0, "--post", help="Seconds after each event."),
    exact: bool = typer.Option(False, "--exact", help="Frame-exact re-encoded clips instead of stream copy."),
    burn_in: bool = typer.Option(False, "--burn-in", help="Burn the wall-clock time into the picture."),
    output: Path = typer.Option(..., "-o", "--output", help="The zip file to write."),
    json_out: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Add events or a camera range to a case (if given) and write its signed evidence package."""
    if (camera is None) != (from_ is None) or (camera is None) != (to is None):
        fail("a time range needs all of --camera, --from and --to")
    ranges = [RangeRequest(camera=camera, start=from_, end=to)] if camera and from_ and to else []
    principal = _operator()
    try:
        with database() as session:
            case = find_case(session, principal, case_name)
            if case is None:
                case = create_case(session, principal, case_name, reference, event, ranges)
                record_case(session, principal.name, "case_create", case,
                            create_detail(case, event, ranges), LOCAL)
            elif event or ranges:
                add_items(session, principal, case, event, ranges)
                record_case(session, principal.name, "case_add_items", case, add_items_detail(event, ranges),
                            LOCAL)
            if reference is not None and case.reference != reference:
                fail(f"case {case.name!r} has reference {case.reference!r}; leave out --reference or "
                     "use another case name")
            result = export_case(session, case, output.resolve(), exported_by=principal.name, pre_s=pre,
                                 post_s=post, exact=exact, burn_in=burn_in)
            record_case(session, principal.name, "export", case,
                        export_detail(case, result, pre=pre, post=post, exact=exact, burn_in=burn_in,
                                      output=output.resolve()), LOCAL)
    except (CaseError, CaseForbidden, EvidenceError, SigningKeyError) as exc:
        fail(str(exc))
    if json_out:
        print_json(result.manifest)
        return
    console.print(f"wrote {output} with {result.clips} clip(s), signed with key "
                  f"{result.manifest['signing_key']['fingerprint']}", highlight=False)
    for note in result.missing:
        console.print(f"[yellow]left out:[/] item {note['item']} ({note['camera']}): {note['detail']}",
                      highlight=False)


@app.command("verify")
def verify(
    package: Path = typer.Argument(..., help="The evidence package (zip)."),
    key: Path | None = typer.Option(
        None, "--key", help="The public key (PEM file) of the installation that made the package: saved from "
        "GET /api/v1/signing-key or 'gatewatch signing-key --export FILE'."),
    expect_fingerprint: str | None = typer.Option(
        None, "--expect-fingerprint", help="That key's fingerprint, as GET /api/v1/signing-key gives."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check a package offline: its zip layout, every file's SHA-256, the signature and whose key made it.

    Exits 0 only when the package is intact and signed by this installation's key, by the key of --key or
    by the key of --expect-fingerprint; otherwise 1, naming the key that signed it. Example:

        gatewatch verify case.zip --key gatewatch-signing-key.pem
    """
    if key is not None and expect_fingerprint is not None:
        fail("give --key or --expect-fingerprint, not both")
    pem = None
    if key is not None:
        try:
            pem = key.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the key file {key} ({exc}); save the PEM from GET /api/v1/signing-key")
    try:
        installation = existing_public_key_pem(get_settings().keys_dir)
    except SigningKeyError as exc:
        fail(str(exc))
    result = verify_package(package, public_key_pem=pem, expect_fingerprint=expect_fingerprint,
                            installation_key_pem=installation)
    if json_out:
        print_json({"ok": result.ok, "problems": result.problems, "checked": result.checked,
                    "fingerprint": result.fingerprint, "trusted_by": result.trusted_by})
    else:
        for problem in result.problems:
            typer.echo(f"FAIL {problem}")
        if result.ok:
            typer.echo(f"ok: {len(result.checked)} file(s) match the manifest; signed by key "
                       f"{result.fingerprint} ({_TRUSTED_BY[result.trusted_by or '']})")
    if not result.ok:
        raise SystemExit(1)


@app.command("signing-key")
def signing_key(
    export: Path | None = typer.Option(
        None, "--export", help="Write the public key (PEM) to this file, to hand to whoever checks packages."),
    json_out: bool = typer.Option(False, "--json", help="Print the key as JSON."),
) -> None:
    """Show this installation's public signing key and its fingerprint (the key is made on first use).

    Example: gatewatch signing-key --export gatewatch-signing-key.pem
    """
    try:
        signing = load_or_create(get_settings().keys_dir)
    except SigningKeyError as exc:
        fail(str(exc))
    if export is not None:
        try:
            export.write_text(signing.public_key_pem)
        except OSError as exc:
            fail(f"cannot write {export} ({exc.strerror or exc}); pick a writable path")
    if json_out:
        print_json({"algorithm": ALGORITHM, "public_key_pem": signing.public_key_pem,
                    "fingerprint": signing.fingerprint})
        return
    if export is not None:
        typer.echo(f"wrote {export}")
    typer.echo(f"fingerprint {signing.fingerprint}")
    if export is None:
        typer.echo(signing.public_key_pem.rstrip())


_TRUSTED_BY = {
    "key file": "the key given with --key",
    "fingerprint": "the fingerprint given",
    "installation": "this installation's key",
    "": "untrusted",
}
