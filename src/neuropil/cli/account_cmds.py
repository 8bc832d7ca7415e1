"""Where and as whom: ``neuropil login``/``logout`` and ``neuropil instances``."""

from __future__ import annotations

import json
import re
import sys

import click
import yaml
from rich.console import Console
from rich.table import Table

from neuropil.cli.client_common import handle_errors, resolve_instance
from neuropil.client import tokens
from neuropil.client.instances import Instance, Registry


@click.command()
@click.argument("instance", required=False, metavar="[INSTANCE]")
@click.option(
    "--token",
    metavar="TOKEN",
    default=None,
    help="The API key; '-' reads it from stdin. Without it, asks (on a terminal only).",
)
@handle_errors
def login(instance: str | None, token: str | None) -> None:
    """Check an API key with the archive and store it (keyring, else a 0600 file).

    INSTANCE is a name or URL (default: the configured default instance)."""
    target = resolve_instance(Registry(), instance)
    if token == "-":
        token = sys.stdin.readline().strip()
    where = tokens.login(target, token)
    click.echo(f"Logged in to {target.name} ({target.api_url}); API key stored in {where}.")


@click.command()
@click.argument("instance", required=False, metavar="[INSTANCE]")
@handle_errors
def logout(instance: str | None) -> None:
    """Forget the stored API key of an instance (environment variables are not touched)."""
    target = resolve_instance(Registry(), instance)
    if tokens.forget(target):
        click.echo(f"Logged out of {target.name} ({target.api_url}).")
    else:
        click.echo(f"No stored API key for {target.name} ({target.api_url}).")


def _default_name(registry: Registry) -> str | None:
    spec = registry.default_spec()
    if spec is None:
        return "dandi"
    if re.match(r"(?i)https?://", spec):
        found = registry.by_url(spec)
        return found.name if found else None
    found = registry.find(spec)
    return found.name if found else None


def _row(instance: Instance, source: str, default: bool) -> dict[str, object]:
    return {
        "name": instance.name,
        "api": instance.api_url,
        "web": instance.web_url,
        "source": source,
        "default": default,
    }


@click.group(invoke_without_command=True)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
)
@click.pass_context
@handle_errors
def instances(ctx: click.Context, fmt: str) -> None:
    """List the known archive instances (built in and configured); the default is marked."""
    if ctx.invoked_subcommand is not None:
        return
    registry = Registry()
    default = _default_name(registry)
    builtin = registry.builtin()
    rows = [
        _row(i, "built-in" if i.name in builtin else "configured", i.name == default)
        for i in registry.list()
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif fmt == "yaml":
        click.echo(yaml.safe_dump(rows, sort_keys=False), nl=False)
    else:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for title in ("", "Name", "API", "Web", "Source"):
            table.add_column(title)
        for r in rows:
            mark = "*" if r["default"] else ""
            table.add_row(
                mark, str(r["name"]), str(r["api"]), str(r["web"] or ""), str(r["source"])
            )
        Console(width=200).print(table)
        if registry.default_spec() and default is None:
            click.echo(f"default: {registry.default_spec()}")


@instances.command("add")
@click.argument("name")
@click.argument("api_url")
@click.option("--web", "web_url", default=None, help="The web UI's URL.")
@click.option("--default", "make_default", is_flag=True, help="Also make it the default.")
@handle_errors
def instances_add(name: str, api_url: str, web_url: str | None, make_default: bool) -> None:
    """Add (or replace) a configured instance."""
    registry = Registry()
    added = registry.add(name, api_url, web_url, default=make_default)
    click.echo(f"Added {added.name}: {added.api_url} (in {registry.path}).")


@instances.command("remove")
@click.argument("name")
@handle_errors
def instances_remove(name: str) -> None:
    """Remove a configured instance."""
    Registry().remove(name)
    click.echo(f"Removed {name}.")


@instances.command("default")
@click.argument("name_or_url")
@handle_errors
def instances_default(name_or_url: str) -> None:
    """Make an instance (a name or a URL) the default."""
    Registry().set_default(name_or_url)
    click.echo(f"The default instance is now {name_or_url}.")
