"""``neuropil``: run and administer an archive (server side) and move data (client side).

Commands are imported when used: the client commands must start fast, and importing the
server (FastAPI, SQLAlchemy, Alembic) costs most of a second they do not need.
"""

from __future__ import annotations

import importlib
import sys

import click

from neuropil._version import __version__

# httpx imports its own command line (with rich's syntax highlighting and pygments, ~40 ms)
# unless that import fails, which it tolerates. neuropil never uses it and every client
# command pays for its start-up, so the CLI marks the module as unavailable (None in
# sys.modules makes the import raise ImportError). Library users are not affected.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

#: command name -> "module:attribute"
COMMANDS = {
    "serve": "neuropil.cli.serve:serve",
    "worker": "neuropil.cli.worker:worker",
    "users": "neuropil.cli.admin:users",
    "db": "neuropil.cli.admin:db",
    "gc": "neuropil.cli.admin:gc_command",
    "download": "neuropil.cli.client_cmds:download",
    "upload": "neuropil.cli.client_cmds:upload",
    "validate": "neuropil.cli.validate_cmd:validate",
    "create": "neuropil.cli.client_cmds:create",
    "delete": "neuropil.cli.client_cmds:delete",
    "ls": "neuropil.cli.browse_cmds:ls",
    "digest": "neuropil.cli.browse_cmds:digest",
    "login": "neuropil.cli.account_cmds:login",
    "logout": "neuropil.cli.account_cmds:logout",
    "instances": "neuropil.cli.account_cmds:instances",
    "organize": "neuropil.cli.organize_cmd:organize",
    "publish": "neuropil.cli.publish_cmds:publish",
    "metadata": "neuropil.cli.publish_cmds:metadata",
    "index": "neuropil.cli.index_cmd:index",
    "tables": "neuropil.cli.tables_cmd:tables",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="neuropil")
def cli() -> None:
    """neuropil: a self-hostable neurophysiology archive that speaks the DANDI API."""


def main() -> None:
    cli()
