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


def test_upload_off_a_terminal_imports_only_what_it_needs() -> None:
    """A re-upload of unchanged files is mostly start-up: no rich (only a terminal gets the
    live display), no httpx command line (pygments), no download engine; and the CA bundle
    is not loaded until a TLS connection needs it."""
    code = (
        "import sys\n"
        "from neuropil.cli.main import cli\n"
        "from neuropil.cli.progress import make_reporter\n"
        "from neuropil.http.transport import Transport\n"
        "cli.get_command(None, 'upload')\n"
        "make_reporter(False)\n"
        "Transport('http://127.0.0.1:9/api')\n"
        "from neuropil.http.tls import client_context\n"
        "assert not client_context()._trust_loaded\n"
        "heavy = ('rich', 'pygments', 'httpx._main', 'neuropil.client.download', 'h5py',\n"
        "         'pynwb', 'nwbinspector')\n"
        "print(','.join(m for m in heavy if sys.modules.get(m) is not None))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert out.stdout.strip() == ""


def test_every_listed_command_loads() -> None:
    for name in COMMANDS:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name, name
