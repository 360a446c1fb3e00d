"""The blob store (FILE-1): one small interface, a local-directory backend (the default) and an
S3-compatible one.

Keys always start with `tenants/<tenant_id>/`; `tenant_key()` builds them and every backend
refuses anything else, so no code path can write outside a tenant's prefix.

Writes are atomic. Callers stage the bytes in a local file first (`staging_dir`) and then
`put_file()` it: the local backend fsyncs and renames into place, S3 completes one (multipart)
upload. A reader never sees a half-written blob under a key.

    store = open_blob_store(settings)
    key = tenant_key(tenant_id, "files", str(file_id))
    await store.put_file(key, staged_path)
    async for chunk in store.read(key):
        ...
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit
from uuid import UUID

import anyio
import anyio.to_thread

from tynebase.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_BYTES = 256 * 1024
_KEY = re.compile(
    r"tenants/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(/[\w.-]+)+"
)


class BlobNotFound(LookupError):
    pass


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified: datetime


def tenant_key(tenant_id: UUID, *parts: str) -> str:
    """`tenants/<tenant_id>/<parts...>`: the only shape of key a store accepts."""
    return check_key("/".join(("tenants", str(tenant_id), *parts)))


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or any(part in {".", ".."} for part in key.split("/")):
        raise ValueError(f"not a tenant blob key: {key!r}")
    return key


class BlobStore(Protocol):
    """Where file bytes live. Implementations must be safe to share between tasks/threads."""

    # A local directory for staging uploads; `put_file` of a file in it is cheapest.
    staging_dir: Path

    async def put_file(self, key: str, source: Path) -> None:
        """Publish the (complete, fsynced) local file `source` under `key`, atomically;
        `source` is consumed (moved or removed)."""

    async def put_bytes(self, key: str, data: bytes) -> None:
        """Publish `data` under `key`, atomically."""

    def read(self, key: str) -> AsyncGenerator[bytes, None]:
        """The blob's bytes in chunks; raises BlobNotFound before the first chunk if missing."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the blob; removing a missing blob is not an error."""

    async def list_blobs(self, prefix: str) -> list[BlobInfo]:
        """Every blob under `prefix`, by key (for checks and repair tools)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs as files under `root`; staging lives in `root/.staging` (same filesystem, so
    publishing is a rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging_dir = root / ".staging"
        self.staging_dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _put_file(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)  # atomic on one filesystem
        except OSError:
            # Staged elsewhere (another device): copy next to the target, fsync, then rename.
            self._write_atomically(target, lambda out: _copy_into(source, out))
            source.unlink(missing_ok=True)
        else:
            _fsync_dir(target.parent)

    def _write_atomically(self, target: Path, write: Any) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    async def put_file(self, key: str, source: Path) -> None:
        await anyio.to_thread.run_sync(self._put_file, key, source)

    async def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        await anyio.to_thread.run_sync(self._write_atomically, target, lambda out: out.write(data))

    async def read(self, key: str) -> AsyncGenerator[bytes, None]:
        path = self._path(key)
        try:
            handle = await anyio.to_thread.run_sync(path.open, "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        try:
            while chunk := await anyio.to_thread.run_sync(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def exists(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(key).unlink(missing_ok=True))

    async def list_blobs(self, prefix: str) -> list[BlobInfo]:
        def walk() -> list[BlobInfo]:
            base = self.root / prefix
            if not base.is_dir():
                return []
            found = []
            for path in base.rglob("*"):
                if path.is_file() and not path.name.startswith(".tmp-"):
                    stat = path.stat()
                    found.append(
                        BlobInfo(
                            key=path.relative_to(self.root).as_posix(),
                            size=stat.st_size,
                            modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                        )
                    )
            return sorted(found, key=lambda blob: blob.key)

        return await anyio.to_thread.run_sync(walk)


def _copy_into(source: Path, out: Any) -> None:
    with source.open("rb") as src:
        shutil.copyfileobj(src, out, CHUNK_BYTES)


class S3BlobStore:
    """Blobs as objects in `bucket` under `prefix`, through boto3 in worker threads.

    boto3 rather than aiobotocore: its transfer manager already streams a file in parts with
    bounded memory and aborts a failed multipart upload (so no partial object is ever
    visible), and it does not pin botocore/aiohttp versions. Each call is one thread hop.
    """

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        client: S3Client,
        staging_dir: Path,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        self.staging_dir = staging_dir
        self.staging_dir.mkdir(parents=True, exist_ok=True)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put_file(self, key: str, source: Path) -> None:
        object_key = self._key(key)
        await anyio.to_thread.run_sync(
            lambda: self.client.upload_file(str(source), self.bucket, object_key)
        )
        await anyio.to_thread.run_sync(lambda: source.unlink(missing_ok=True))

    async def put_bytes(self, key: str, data: bytes) -> None:
        object_key = self._key(key)
        await anyio.to_thread.run_sync(
            lambda: self.client.put_object(Bucket=self.bucket, Key=object_key, Body=data)
        )

    async def read(self, key: str) -> AsyncGenerator[bytes, None]:
        object_key = self._key(key)

        def get() -> Any:
            try:
                return self.client.get_object(Bucket=self.bucket, Key=object_key)["Body"]
            except self.client.exceptions.NoSuchKey as exc:
                raise BlobNotFound(key) from exc

        body = await anyio.to_thread.run_sync(get)
        try:
            while chunk := await anyio.to_thread.run_sync(body.read, CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def exists(self, key: str) -> bool:
        object_key = self._key(key)

        def head() -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=object_key)
            except self.client.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise
            return True

        return await anyio.to_thread.run_sync(head)

    async def delete(self, key: str) -> None:
        object_key = self._key(key)
        await anyio.to_thread.run_sync(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=object_key)
        )

    async def list_blobs(self, prefix: str) -> list[BlobInfo]:
        full = self.prefix + prefix

        def walk() -> list[BlobInfo]:
            found: list[BlobInfo] = []
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                found.extend(
                    BlobInfo(
                        key=obj["Key"][len(self.prefix) :],
                        size=obj["Size"],
                        modified=obj["LastModified"],
                    )
                    for obj in page.get("Contents", [])
                )
            return sorted(found, key=lambda blob: blob.key)

        return await anyio.to_thread.run_sync(walk)


def s3_client(settings: Settings) -> S3Client:
    import boto3  # imported on use: only S3 deployments pay for it

    secret = settings.s3_secret_access_key
    client: S3Client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
    )
    return client


def build_blob_store(settings: Settings) -> BlobStore:
    """A new store for `settings.storage_url` (see README "Configuration")."""
    url = settings.storage_url
    if not url:
        return LocalBlobStore(settings.data_dir / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalBlobStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError("TYNEBASE_STORAGE_URL must name a bucket: s3://bucket/prefix")
        return S3BlobStore(
            bucket=parts.netloc,
            prefix=unquote(parts.path),
            client=s3_client(settings),
            staging_dir=settings.data_dir / "staging",
        )
    raise ValueError("TYNEBASE_STORAGE_URL must be file:///path or s3://bucket/prefix")


_stores: dict[tuple[Any, ...], BlobStore] = {}
_stores_lock = threading.Lock()


def open_blob_store(settings: Settings) -> BlobStore:
    """The process's store for these settings, built on first use (API and job workers share
    it; S3 clients are thread-safe and costly to create)."""
    secret = settings.s3_secret_access_key
    identity = (
        str(settings.data_dir.resolve()),
        settings.storage_url,
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.s3_access_key_id,
        secret.get_secret_value() if secret else None,
    )
    with _stores_lock:
        store = _stores.get(identity)
        if store is None:
            store = _stores[identity] = build_blob_store(settings)
        return store


@contextlib.contextmanager
def staged_file(store: BlobStore) -> Any:
    """A fresh file in the store's staging directory, removed on exit unless published."""
    fd, name = tempfile.mkstemp(dir=store.staging_dir, prefix="upload-")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
