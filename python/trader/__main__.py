"""``python -m trader``: the same as the ``trader`` command."""

from trader.cli import run

run()
