"""``flowrun schema [NAME]``: the JSON Schemas of flowrun's JSON outputs, so scripts can
validate what they read (``flowrun schema show > show.schema.json``)."""
from __future__ import annotations

import json
from typing import Any

import click

from flowrun import schemas
from flowrun.errors import UsageError
from flowrun.option_checks import did_you_mean


def make_schema_command(factory: Any) -> click.Command:
    @click.command("schema")
    @click.argument("name", required=False)
    def schema(name: str | None) -> int:
        """Print the JSON Schema of NAME (history, show, logs, report...); with no NAME,
        list every schema as NAME/VERSION and what it describes."""
        if name is None:
            for known in sorted(schemas.VERSIONS):
                title = schemas.load(known)["title"]
                click.echo(f"{schemas.tag(known):<16} {title}")
            return 0
        click.echo(schemas.text(_known(name)), nl=False)
        return 0

    return schema


def _known(asked: str) -> str:
    """The schema ``asked`` names (``show`` or ``show/1``), or a usage error saying what
    exists."""
    name, _, version = asked.partition("/")
    if name not in schemas.VERSIONS:
        tags = [schemas.tag(n) for n in sorted(schemas.VERSIONS)]
        hint = did_you_mean(name, sorted(schemas.VERSIONS))
        raise UsageError(f"flowrun schema {asked}: no such schema{hint}; "
                         f"`flowrun schema` lists them ({', '.join(tags)})")
    if version and version != str(schemas.VERSIONS[name]):
        raise UsageError(f"flowrun schema {asked}: this flowrun writes "
                         f"{schemas.tag(name)} only")
    return name
