"""Where and as whom: ``neuropil login``/``logout`` and ``neuropil instances``."""

from __future__ import annotations

import json
import re
import sys

import click
import yaml
from rich.console import Console
from rich.table import Table

from neuropil.cli.client_options import handle_errors, resolve_instance
from neuropil.client import tokens
from neuropil.client.instances import DEFAULT_URL_ENV, Instance, Registry
from neuropil.errors import NeuropilError


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

    INSTANCE is a name or URL (default: the configured default instance). Logging in to an
    instance makes it the default: commands without -i then go there."""
    registry = Registry()
    target = resolve_instance(registry, instance)
    if token == "-":
        token = sys.stdin.readline().strip()
    where = tokens.login(target, token)
    click.echo(f"Logged in to {target.name} ({target.api_url}); API key stored in {where}.")
    if instance is not None:
        click.echo(_make_default(registry, target))


def _make_default(registry: Registry, target: Instance) -> str:
    """Make ``target`` the default instance (configured under a name of its own if it was
    only discovered, so that finding it needs no request); what to tell the user."""
    before = _default_name(registry)
    current = registry.default_spec()
    if current is not None and _api_url(registry, current) == target.api_url:
        name = target.name
    elif target.name in registry.builtin() or target.name in registry.configured():
        registry.set_default(target.name)
        name = target.name
    else:
        name = _config_name(registry, target)
        registry.add(name, target.api_url, target.web_url, default=True)
    if before == name:
        return f"{name} is the default instance."
    text = (
        f"{name} is now the default instance (was {before or current}): commands without "
        "-i/--instance use it."
    )
    if registry.env.get(DEFAULT_URL_ENV):
        text += f" (${DEFAULT_URL_ENV} still overrides it in this shell.)"
    return text


def _api_url(registry: Registry, spec: str) -> str | None:
    try:
        return registry.resolve(spec).api_url
    except NeuropilError:  # a default that no longer resolves is replaced
        return None


def _config_name(registry: Registry, target: Instance) -> str:
    """A configured name for a discovered instance: its ``host-port``, made unique."""
    base = re.sub(r"[^a-z0-9._-]+", "-", target.name.lower()).strip("-.") or "archive"
    configured = registry.configured()
    name, n = base, 1
    while name in configured and configured[name].api_url != target.api_url:
        n += 1
        name = f"{base}-{n}"
    return name


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
