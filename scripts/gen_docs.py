"""Generate the reference docs from the code: CLI help, settings, zone schema, roles, plate formats.

.venv/bin/python scripts/gen_docs.py          # rewrite docs/cli.md, docs/settings.md, docs/zone-schema.json, ...
.venv/bin/python scripts/gen_docs.py --check  # exit 1 if any is out of date (the tests run this)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel

from cordon.api import create_app
from cordon.api.security import endpoints
from cordon.auth.roles import ROLE_PERMISSIONS, Permission, Role
from cordon.cli import cli
from cordon.config.zone import ZoneConfig
from cordon.plates import FORMATS
from cordon.settings import Settings
from cordon.sim import CameraNoise, NoiseSettings
from cordon.traffic_mix import TrafficMix

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        path = f"{prefix} {name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


def cli_reference() -> str:
    out = ["# Command-line reference", "", "Generated from `--help` by `scripts/gen_docs.py`; do not edit by hand.", ""]
    for path, command in [("cordon", cli), *_commands(cli, "cordon")]:
        with click.Context(command, info_name=path, terminal_width=100) as ctx:
            text = command.get_help(ctx)
        out += [f"## `{path}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(out)


def _rows(model: type[BaseModel], env: str) -> list[str]:
    """One row per setting; nested sections (`CORDON_MQTT__HOST`) follow their parent's plain settings."""
    rows, sections = [], []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sections.append((annotation, f"{env}{name.upper()}__"))
            continue
        default: Any = field.default if field.default_factory is None else "(computed)"
        rows.append(f"| `{env}{name.upper()}` | `{default}` | {field.description} |")
    for section, prefix in sections:
        rows += _rows(section, prefix)
    return rows


def settings_reference() -> str:
    out = [
        "# Settings",
        "",
        "Process settings come from `CORDON_*` environment variables (command-line options override them).",
        "Generated from `cordon.settings` by `scripts/gen_docs.py`; do not edit by hand.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
        *_rows(Settings, "CORDON_"),
        "",
    ]
    return "\n".join(out)


def noise_reference() -> str:
    """The simulator's camera-noise settings (a YAML file of these fields is `cordon sim generate --noise FILE`)."""
    out = [
        "# Simulated camera noise",
        "",
        "Fields of a noise YAML file for `cordon sim generate --noise FILE` (`--noise off` is the exact truth).",
        "Generated from `cordon.sim.NoiseSettings` by `scripts/gen_docs.py`; do not edit by hand.",
        "",
        "| field | default | meaning |",
        "|---|---|---|",
    ]
    for model, prefix in ((NoiseSettings, ""), (CameraNoise, "cameras.<camera id>.")):
        for name, field in model.model_fields.items():
            default: Any = field.default if field.default_factory is None else "{}"
            out.append(f"| `{prefix}{name}` | `{default}` | {field.description} |")
    return "\n".join([*out, ""])


def roles_reference() -> str:
    """Roles × permissions (`cordon.auth.roles.ROLE_PERMISSIONS`) and the permission each API route declares."""
    out = [
        "# Roles, permissions and routes",
        "",
        "Generated from `cordon.auth.roles.ROLE_PERMISSIONS` and the routes of `create_app` by `scripts/gen_docs.py`;",
        "do not edit by hand. How accounts, sessions and the audit trail work: [security.md](security.md).",
        "",
        "| permission | " + " | ".join(role.value for role in Role) + " |",
        "|---|" + "---|" * len(Role),
    ]
    for permission in Permission:
        marks = ["yes" if permission in ROLE_PERMISSIONS[role] else "" for role in Role]
        out.append(f"| `{permission.value}` | " + " | ".join(marks) + " |")
    out += ["", "| route | permission |", "|---|---|"]
    for endpoint in endpoints(create_app(Settings())):
        if endpoint.mount or endpoint.method == "HEAD":
            continue
        needs = ", ".join(f"`{p.value}`" if p else "signed in" for p in endpoint.permissions)
        out.append(f"| `{endpoint.method} {endpoint.path}` | {needs or 'public'} |")
    return "\n".join([*out, ""])


def plate_formats_reference() -> str:
    """The country grammars (`cordon.plates.FORMATS`) in matching order, with the default traffic mix's shares."""
    mix = TrafficMix()
    out = [
        "# Plate formats",
        "",
        "The country grammars of `cordon.plates.FORMATS`, in the order they are tried: the first match gives a",
        "plate's display (`display_plate`). The recogniser's decoder uses them as a prior, never a filter",
        "([recognition.md](recognition.md#the-pipeline)). The share column is the default traffic mix",
        "(`cordon.traffic_mix`): the assumed share of traffic of each format in a Belgian zone near a border. A zone",
        "sets its own, by country or by format name: `traffic_mix` in the zone file ([zones.md](zones.md)), or",
        "`cordon recognize --traffic-mix` on an edge camera.",
        "",
        "A text that fits several formats gets the one under which that very string is the likeliest: the share",
        "over the format's number of strings of that length (`TrafficMix.likeliest_format`). This one rule names",
        "the format and country of the decoder's candidates, of a plate voted over a video track, and of a read",
        "that a camera sends without a country (ingest). For example, `AB1234` is Luxembourg's by default and",
        "Dutch where the Netherlands has a fifth of the traffic; `ABC123` is the Belgian 1973-2008 series rather",
        "than one of the far more numerous German strings. A plate that fits no format is kept as read, with the",
        f"share {mix.no_format_share:.2%}.",
        "",
        "Generated by `scripts/gen_docs.py`; do not edit by hand.",
        "",
        "| country | format | layout | pattern (normalised plate) | default share |",
        "|---|---|---|---|---|",
    ]
    for fmt in FORMATS:
        pattern = fmt.pattern.pattern.removeprefix(r"\A(?:").removesuffix(r")\Z").replace("|", "\\|")
        share = mix.share(fmt.name, fmt.country)
        out.append(f"| {fmt.country} | {fmt.name} | `{fmt.display}` | `{pattern}` | {share:.3%} |")
    return "\n".join([*out, ""])


def outputs() -> dict[Path, str]:
    return {
        DOCS / "cli.md": cli_reference(),
        DOCS / "plate-formats.md": plate_formats_reference(),
        DOCS / "roles.md": roles_reference(),
        DOCS / "sim-noise.md": noise_reference(),
        DOCS / "settings.md": settings_reference(),
        DOCS / "zone-schema.json": json.dumps(ZoneConfig.model_json_schema(), indent=2) + "\n",
    }


def main() -> int:
    stale = [path for path, text in outputs().items() if not path.exists() or path.read_text() != text]
    if "--check" in sys.argv:
        for path in stale:
            print(f"out of date: {path} (run: .venv/bin/python scripts/gen_docs.py)")
        return 1 if stale else 0
    for path, text in outputs().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
