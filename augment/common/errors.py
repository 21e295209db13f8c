"""One exception type for problems the user can fix, and the CLI glue that prints it as one line.

Library code raises `PTPError` with a message that says what is wrong, where (file, line, field)
and what to do. The CLIs print it as a single line on stderr and exit with code 2; `--debug`
shows the traceback instead.
"""
from __future__ import annotations

import sys

import click

EXIT_USAGE = 2


class PTPError(Exception):
    """A problem with the user's input or environment that the user can fix."""


def where(path, line: int | None = None, field: str | None = None) -> str:
    """'file:line: field' prefix for messages about a place in a data file."""
    out = str(path)
    if line is not None:
        out += f":{line}"
    if field is not None:
        out += f": field '{field}'"
    return out


class FriendlyGroup(click.Group):
    """A click group that turns PTPError (and a few well-known OS errors) into one line, exit 2."""

    def make_context(self, info_name, args, parent=None, **extra):
        # The group's own options are parsed here, before invoke: a bad --config file too.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except PTPError as err:
            if "--debug" in sys.argv[1:]:
                raise
            click.echo(f"error: {err}", err=True)
            raise SystemExit(EXIT_USAGE) from None

    def invoke(self, ctx: click.Context):
        debug = "--debug" in sys.argv[1:]
        try:
            return super().invoke(ctx)
        except (PTPError, FileExistsError, PermissionError, IsADirectoryError) as err:
            if debug:
                raise
            click.echo(f"error: {err}", err=True)
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            click.echo("interrupted: rerun the same command to resume", err=True)
            ctx.exit(130)


debug_option = click.option(
    "--debug", is_flag=True, expose_value=False, is_eager=True,
    help="Show full tracebacks instead of one-line errors.",
)
