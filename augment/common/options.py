"""Command-line options made from spec dataclasses, and `--config` files that fill them.

One source of truth: a spec dataclass (TrainSpec, RandomSpec, AttackSpec) declares each knob
once, with its type, default and help (field metadata "help"; "flag" renames the option, as
`lam` -> `--lambda`); the CLIs derive their options from it. A `--config` file (YAML or JSON)
gives any option of a command; flags typed on the command line win over the file.
"""
from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields

import click

from .errors import PTPError


def _base_type(hint):
    """The click type of a field's type hint (`int | None` -> int), or None for a tuple (a comma list)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = [a for a in typing.get_args(hint) if a is not type(None)][0]
    return None if typing.get_origin(hint) is tuple else hint


def _comma_list(ctx, param, value):
    if value is None or isinstance(value, tuple):
        return value
    return tuple(v.strip() for v in str(value).split(",") if v.strip())


def spec_options(cls, exclude=(), rename=None):
    """A decorator adding one click option per field of the dataclass `cls`. `rename` maps a field
    to another flag (and parameter name) where the command has an option of its own by that name."""
    hints = typing.get_type_hints(cls)
    rename = rename or {}

    def decorate(f):
        for fld in reversed(fields(cls)):
            if fld.name in exclude:
                continue
            kind = _base_type(hints[fld.name])
            default = fld.default if fld.default is not MISSING else None
            flag = "--" + (rename.get(fld.name) or fld.metadata.get("flag", fld.name.replace("_", "-")))
            name = rename[fld.name].replace("-", "_") if fld.name in rename else fld.name
            help_text = fld.metadata.get("help")
            if kind is bool and not default:
                option = click.option(flag, name, is_flag=True, help=help_text)
            elif kind is bool:
                off = fld.metadata.get("off_flag", "no-" + flag[2:])
                option = click.option(f"{flag}/--{off}", name, default=default, show_default=True, help=help_text)
            elif kind is None:  # a tuple field: a comma list on the command line
                option = click.option(flag, name, default=",".join(default), show_default=True,
                                      callback=_comma_list, help=help_text)
            else:
                option = click.option(flag, name, type=kind, default=default,
                                      show_default=default is not None and default != "", help=help_text)
            f = option(f)
        return f
    return decorate


def read_config(path) -> dict:
    """A YAML or JSON mapping of option names to values (read as task files are)."""
    from .task_file import read_mapping

    return read_mapping(path, "--config", "a mapping of option names to values")


def _defaults(ctx: click.Context, path, data: dict) -> dict:
    """Config keys -> the command's parameter names (`batch-size`, `batch_size` and the flag
    spelling all work); lists become comma lists. An unknown key is an error, not ignored."""
    names = {}
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in ("config", "debug"):
            continue
        names[param.name] = param.name
        for opt in param.opts + param.secondary_opts:
            names[opt.lstrip("-")] = names[opt.lstrip("-").replace("-", "_")] = param.name
    out = {}
    for key, value in data.items():
        if key not in names:
            known = sorted({k for k in names if "-" not in k})
            raise PTPError(f"--config {path}: unknown key '{key}' for `{ctx.command_path}`; "
                           f"known keys: {', '.join(known)}")
        out[names[key]] = ",".join(map(str, value)) if isinstance(value, list) else value
    return out


def config_option(translate=None):
    """`--config FILE`: the file's values become the command's defaults. `translate` turns a
    file of another shape (a saved run config) into option values first."""

    def load(ctx: click.Context, param, value):
        if value is None:
            return None
        data = read_config(value)
        if translate is not None:
            data = translate(data)
        ctx.default_map = {**(ctx.default_map or {}), **_defaults(ctx, value, data)}
        return value

    return click.option("--config", type=click.Path(), default=None, is_eager=True, expose_value=False,
                        callback=load, help="YAML/JSON file of options (flags given here win over it)")
