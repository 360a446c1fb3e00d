"""Background jobs: procrastinate on the same PostgreSQL, with tenant-visible status and progress."""
