"""``neuropil tables URL``: a Dandiset version's file manifest or sessions table as a file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from neuropil.cli.client_options import handle_errors, token_option


@click.command("tables")
@click.argument("url")
@click.option(
    "-t",
    "--table",
    type=click.Choice(["files", "sessions"]),
    default="files",
    show_default=True,
    help="files: one row per asset; sessions: one row per session of the NWB files.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "parquet"]),
    default="csv",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@token_option
@handle_errors
def tables(url: str, table: str, fmt: str, output: Path | None, token: str | None) -> None:
    """Write a table of the Dandiset version URL names (any Dandiset URL form; without a
    version, the latest published one, else the draft)."""
    # Imported here: `neuropil --help` loads every command module, and pandas takes ~0.4 s.
    from neuropil.client.tables import read_table

    df = read_table(url, table, token)
    if fmt == "parquet":
        if output is None and sys.stdout.isatty():
            raise click.UsageError("Parquet is binary: give -o FILE or redirect the output.")
        df.to_parquet(output or sys.stdout.buffer, index=False)
    elif fmt == "json":
        text = df.to_json(orient="records", force_ascii=False)
        _write(output, text + "\n")
    else:
        _write(output, df.to_csv(index=False))


def _write(output: Path | None, text: str) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
