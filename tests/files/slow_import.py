"""Loaded into a `tynebase worker` by the SIGKILL test (TYNEBASE_JOB_TASK_MODULES): the first
import to reach it has created its document, not yet committed, and then waits to be killed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from tynebase.files import repo

_real_set_document = repo.set_document


async def _set_document(conn: Any, file_id: Any, *args: Any, **kwargs: Any) -> None:
    marker = Path(os.environ["TB_TEST_IMPORT_MARKER"])
    # Only the test's own import (other tests may have left imports in the queue).
    mine = str(file_id) == os.environ["TB_TEST_IMPORT_FILE_ID"]
    if mine and not marker.exists():  # noqa: ASYNC240 - a test hook; a tiny local file
        marker.write_text("document inserted, transaction open")  # noqa: ASYNC240
        await asyncio.sleep(600)  # SIGKILLed here
    await _real_set_document(conn, file_id, *args, **kwargs)


repo.set_document = _set_document  # type: ignore[assignment]
