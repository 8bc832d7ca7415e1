"""Administration: users, database migrations, garbage collection."""

from __future__ import annotations

from pathlib import Path

import click

from neuropil.cli._common import data_option, open_context
from neuropil.errors import NeuropilError
from neuropil.services import auth, gc


@click.group()
def users() -> None:
    """Manage user accounts and their API tokens."""


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--email", default="", help="E-mail address.")
@click.option("--full-name", default="", help="Display name (default: NAME).")
@data_option
def users_add(name: str, admin: bool, email: str, full_name: str, data_dir: Path) -> None:
    """Create an approved user; its API token is the last line of output."""
    ctx = open_context(data_dir)
    try:
        _, key = auth.create_user(ctx, username=name, email=email, name=full_name, admin=admin)
    except NeuropilError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {'admin ' if admin else ''}user {name}. API token:", err=True)
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
    ctx = open_context(data_dir)
    report = gc.collect(ctx)
    click.echo(
        f"Removed {report.expired_uploads} expired uploads, {report.orphan_multiparts} orphan "
        f"multipart uploads, {report.orphan_objects} orphan objects, {report.blobs} blobs, "
        f"{report.assets} assets, {report.temporaries} temporary files."
    )
