"""The `cordon` command. User errors print one clean line (or one line per problem), never a traceback."""

from __future__ import annotations

import sys

import click

from cordon import __version__
from cordon.commands.audit import audit
from cordon.commands.cameras import cameras
from cordon.commands.common import fail
from cordon.commands.config import config
from cordon.commands.db import db
from cordon.commands.demo import demo
from cordon.commands.edge import edge
from cordon.commands.eval import eval_command
from cordon.commands.flows import flows
from cordon.commands.ingest import ingest
from cordon.commands.legal import legal
from cordon.commands.reads import reads
from cordon.commands.recognize import recognize
from cordon.commands.reference import hotlists, permits, registry
from cordon.commands.retention import retention
from cordon.commands.search import search
from cordon.commands.serve import serve
from cordon.commands.sim import sim
from cordon.commands.users import users
from cordon.config import ConfigError
from cordon.errors import CordonError
from cordon.store.base import StoreError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="cordon")
def cli() -> None:
    """Cordon: lawful, zone-wide ANPR for a Belgian police zone and its municipality.

    \b
    Start here:
      cordon demo                              a simulated town feeding the platform live
      cordon config validate zone.yaml         check a zone file
      cordon serve --zone zone.yaml            run the API, the MQTT ingest and the store
    """


for command in (
    serve,
    demo,
    sim,
    eval_command,
    config,
    db,
    ingest,
    reads,
    recognize,
    edge,
    cameras,
    hotlists,
    permits,
    registry,
    users,
    audit,
    flows,
    search,
    retention,
    legal,
):
    cli.add_command(command)


def main() -> None:
    """Entry point of the `cordon` console script."""
    try:
        cli.main(prog_name="cordon", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except (CordonError, StoreError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
