"""Background jobs: procrastinate on the same PostgreSQL, with status and progress per tenant."""
