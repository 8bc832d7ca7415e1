"""``neuropil``: run and administer an archive (server side) and, later, move data (client)."""

from __future__ import annotations

import click

from neuropil import __version__
from neuropil.cli.account_cmds import instances, login, logout
from neuropil.cli.admin import db, gc_command, users
from neuropil.cli.browse_cmds import digest, ls
from neuropil.cli.client_cmds import create, delete, download, upload
from neuropil.cli.serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="neuropil")
def cli() -> None:
    """neuropil: a self-hostable neurophysiology archive that speaks the DANDI API."""


cli.add_command(serve)
cli.add_command(users)
cli.add_command(db)
cli.add_command(gc_command)
for command in (download, upload, ls, digest, delete, create, login, logout, instances):
    cli.add_command(command)


def main() -> None:
    cli()
