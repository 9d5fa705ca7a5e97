"""`aircore-mock schema`: print a shipped JSON Schema, list them, or say where they are."""

from __future__ import annotations

import json

import click

from . import options
from .terminal import echo_lines, fail_usage


@click.command()
@click.argument("name", required=False, metavar="[SCHEMA]")
@click.option("--list", "list_", is_flag=True, help="List every shipped schema, one line each.")
@click.option("--path", "show_path", is_flag=True, help="Print the folder holding the schemas.")
@options.strict(
    "The strict variant: exactly what Aircore documents today (no undocumented fields, "
    "stop reasons, states or event types)."
)
@click.option(
    "--openapi",
    is_flag=True,
    help="Print an OpenAPI 3.1 document instead: each callback type a webhook.",
)
def schema(name: str | None, list_: bool, show_path: bool, strict: bool, openapi: bool) -> None:
    """Print a shipped JSON Schema: the union of all callbacks, one callback type, or
    another shipped schema (start-recording-request).

    The schemas are plain draft 2020-12 files; --path shows where they live so that other
    tools (check-jsonschema, ajv, ...) can use them.
    """
    from .. import schemas

    chosen = [flag for flag, on in (("--list", list_), ("--path", show_path)) if on]
    if openapi:
        chosen.append("--openapi")
    if len(chosen) > 1 or (chosen and name):
        fail_usage(f"{' and '.join(chosen + ([name] if name else []))} cannot be combined")
    if list_ and strict:
        fail_usage(
            "--list and --strict cannot be combined: the callback types are the same in both"
        )
    if openapi:
        from ..openapi import openapi_document

        click.echo(json.dumps(openapi_document(strict=strict), indent=2))
    elif show_path:
        click.echo(str(schemas.schema_dir(strict)))
    elif list_:
        from ..reporting.text import schema_list

        # The callback types first (what most readers want), then the union, the shared
        # definitions and the start-recording request.
        types = schemas.callback_types()
        names = [*types, *(n for n in schemas.schema_names() if n not in types)]
        echo_lines(schema_list([(n, schemas.describe(n)) for n in names]))
    else:
        click.echo(json.dumps(schemas.get_schema(name or schemas.UNION, strict=strict), indent=2))
