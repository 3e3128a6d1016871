"""The ``trader`` command line."""

from __future__ import annotations

import sys

import click

import trader
from trader.exceptions import TraderError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(trader.__version__, prog_name="trader")
def cli() -> None:
    """trader: backtest and run trading strategies on a Rust core."""


@cli.command()
def info() -> None:
    """Show the version and the SIMD backend in use."""
    click.echo(f"trader {trader.__version__}")
    click.echo(f"simd backend: {trader.simd_backend()} (available: {', '.join(trader.simd_backends_available())})")


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad usage or bad input exits 2 with one line on stderr, no traceback."""
    try:
        cli.main(args=argv, prog_name="trader", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except TraderError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
