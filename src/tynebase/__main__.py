"""`python -m tynebase` is the `tynebase` command."""

from tynebase.cli.main import app

app()
