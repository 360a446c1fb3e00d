"""The `tynebase` command line: one module per command group."""
