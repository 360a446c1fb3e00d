"""The job worker: procrastinate app, task runner, stalled-job recovery, maintenance tasks."""
