"""Administration: users, database migrations, garbage collection."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from neuropil.cli.server_options import data_option, open_context
from neuropil.core.citation import citation_name
from neuropil.errors import NeuropilError
from neuropil.services import auth


@click.group()
def users() -> None:
    """Manage user accounts and their API tokens."""


@users.command("add")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--email", default="", help="E-mail address.")
@click.option(
    "--name",
    "--full-name",
    "full_name",
    default="",
    metavar='"LAST, FIRST"',
    help='The person\'s name as DANDI cites it, "Last, First" ("First Last" is turned '
    'around). Default: asked on a terminal, else made from USERNAME (alice: "Alice, Alice").',
)
@data_option
def users_add(username: str, admin: bool, email: str, full_name: str, data_dir: Path) -> None:
    """Create an approved user; its API token is the last line of output.

    The name becomes the contact person of the dandisets the user creates, so it must have
    DANDI's "Last, First" form for them to publish."""
    if not full_name and sys.stdin.isatty() and sys.stderr.isatty():  # a person is there
        full_name = click.prompt(
            'Name for citations, "Last, First"', default=citation_name(username), err=True
        )
    # Without a name the user is shown by USERNAME and cited as citation_name(USERNAME).
    stored = citation_name(full_name) if full_name else ""
    name = stored or citation_name(username)
    ctx = open_context(data_dir)
    try:
        _, key = auth.create_user(ctx, username=username, email=email, name=stored, admin=admin)
    except NeuropilError as exc:
        raise click.ClickException(str(exc)) from exc
    hint = "" if full_name else '; give --name "Last, First" for the real one'
    click.echo(
        f"Created {'admin ' if admin else ''}user {username} ({name!r} in citations{hint}) "
        f"in the archive at {data_dir.resolve()}. Use the API token below with "
        "`neuropil login URL-of-the-archive`:",
        err=True,
    )
    click.echo(key)


@users.command("token")
@click.argument("name")
@data_option
def users_token(name: str, data_dir: Path) -> None:
    """Replace a user's API token and print the new one."""
    ctx = open_context(data_dir)
    try:
        key = auth.regenerate_token(ctx, username=name)
    except NeuropilError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(key)


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@data_option
def db_upgrade(data_dir: Path) -> None:
    """Apply database migrations (serve does this itself on the embedded default)."""
    from neuropil.db.migrate import current

    ctx = open_context(data_dir)
    click.echo(f"Database at revision {current(ctx.db)}.")


@click.command("gc")
@data_option
def gc_command(data_dir: Path) -> None:
    """Remove abandoned uploads, orphaned objects and unreferenced blobs."""
    from neuropil.services import gc  # the tables, Zarr and index modules: not for `users`

    ctx = open_context(data_dir)
    report = gc.collect(ctx)
    click.echo(
        f"Removed {report.expired_uploads} expired uploads, {report.orphan_multiparts} orphan "
        f"multipart uploads, {report.orphan_objects} orphan objects, {report.blobs} blobs, "
        f"{report.assets} assets, {report.temporaries} temporary files, "
        f"{report.zarr_files} files of deleted Zarrs, {report.zarr_snapshot_objects} "
        "unused Zarr snapshot objects."
    )
