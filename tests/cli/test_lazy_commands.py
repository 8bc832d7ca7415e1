"""Client commands start fast: they never import the server stack."""

from __future__ import annotations

import subprocess
import sys

from neuropil.cli.main import COMMANDS, cli


def test_client_commands_do_not_import_the_server() -> None:
    code = (
        "import sys\n"
        "from neuropil.cli.main import cli\n"
        "for name in ('download', 'upload', 'ls', 'digest', 'login', 'instances'):\n"
        "    cli.get_command(None, name)\n"
        "heavy = sorted(m for m in ('fastapi', 'sqlalchemy', 'alembic', 'uvicorn') "
        "if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_listed_command_loads() -> None:
    for name in COMMANDS:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name, name
