"""The blob store contract, run against both backends: a local directory and S3 (moto's real
S3 HTTP server on loopback)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import make_settings
from tests.files.conftest import S3Server
from tynebase.files.storage import (
    BlobNotFound,
    BlobStore,
    LocalBlobStore,
    build_blob_store,
    check_key,
    staged_file,
    tenant_key,
)

T = TypeVar("T")


def run(awaitable: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await awaitable

    return asyncio.run(wrapper())


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield build_blob_store(make_settings(tmp_path, None, storage_url=f"file://{tmp_path}/b"))
        return
    server: S3Server = request.getfixturevalue("s3_server")
    base = make_settings(tmp_path, None)
    bucket = server.create_bucket()
    yield build_blob_store(make_settings(tmp_path, None, **server.settings_for(base, bucket)))


def a_key(*parts: str) -> str:
    return tenant_key(uuid.uuid4(), *(parts or ("files", str(uuid.uuid4()))))


def stage(store: BlobStore, data: bytes) -> Path:
    path = store.staging_dir / f"test-{uuid.uuid4().hex}"
    path.write_bytes(data)
    return path


def test_put_bytes_then_read_back(store: BlobStore) -> None:
    key = a_key()
    run(store.put_bytes(key, b"hello blob"))
    assert run(read_all(store, key)) == b"hello blob"
    assert run(store.exists(key))


def test_put_file_publishes_and_consumes_the_staged_file(store: BlobStore) -> None:
    key = a_key()
    data = os.urandom(3 * 1024 * 1024 + 17)  # several read chunks
    source = stage(store, data)
    run(store.put_file(key, source))
    assert run(read_all(store, key)) == data
    assert not source.exists()


def test_a_large_file_goes_up_in_parts_and_comes_back_whole(store: BlobStore) -> None:
    # Over boto3's 8 MiB multipart threshold: S3 assembles the parts into one object.
    key = a_key()
    data = os.urandom(9 * 1024 * 1024)
    run(store.put_file(key, stage(store, data)))
    assert run(read_all(store, key)) == data


def test_overwriting_replaces_the_whole_blob(store: BlobStore) -> None:
    key = a_key()
    run(store.put_bytes(key, b"first version, which is longer"))
    run(store.put_bytes(key, b"second"))
    assert run(read_all(store, key)) == b"second"


def test_missing_blobs(store: BlobStore) -> None:
    key = a_key()
    assert not run(store.exists(key))
    with pytest.raises(BlobNotFound):
        run(read_all(store, key))
    run(store.delete(key))  # deleting what is not there is fine


def test_delete(store: BlobStore) -> None:
    key = a_key()
    run(store.put_bytes(key, b"x"))
    run(store.delete(key))
    assert not run(store.exists(key))
    with pytest.raises(BlobNotFound):
        run(read_all(store, key))


def test_list_blobs_is_per_tenant_prefix(store: BlobStore) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    mine = sorted(tenant_key(tenant, "files", name) for name in ("a", "b"))
    for key in (*mine, tenant_key(other, "files", "c")):
        run(store.put_bytes(key, b"x"))
    blobs = run(store.list_blobs(f"tenants/{tenant}/"))
    assert [blob.key for blob in blobs] == mine
    assert [blob.size for blob in blobs] == [1, 1]
    assert all(abs((blob.modified - datetime.now(UTC)).total_seconds()) < 300 for blob in blobs)
    assert run(store.list_blobs(f"tenants/{uuid.uuid4()}/")) == []


@pytest.mark.parametrize(
    "key",
    [
        "files/x",
        "tenants/not-a-uuid/files/x",
        "/tenants/00000000-0000-0000-0000-000000000000/x",
        "tenants/00000000-0000-0000-0000-000000000000/../other",
        "tenants/00000000-0000-0000-0000-000000000000/",
        "tenants/00000000-0000-0000-0000-000000000000/a b",
    ],
)
def test_keys_outside_a_tenant_prefix_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="tenant blob key"):
        check_key(key)
    with pytest.raises(ValueError, match="tenant blob key"):
        run(store.put_bytes(key, b"x"))


def test_staged_file_is_removed_unless_published(store: BlobStore) -> None:
    with staged_file(store) as path:
        path.write_bytes(b"abandoned")
    assert not path.exists()
    key = a_key()
    with staged_file(store) as path:
        path.write_bytes(b"kept")
        run(store.put_file(key, path))
    assert run(read_all(store, key)) == b"kept"


def test_local_write_that_fails_leaves_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = a_key()

    def explode(_out: Any) -> None:
        raise OSError("disk full")

    target = store.root / key
    with pytest.raises(OSError, match="disk full"):
        store._write_atomically(target, explode)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temporary file left behind


def test_local_put_file_across_filesystems_copies_then_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    source = tmp_path / "elsewhere"
    source.write_bytes(b"from another device")
    real_replace = os.replace
    calls: list[Any] = []

    def replace(src: Any, dst: Any) -> None:
        calls.append(src)
        if Path(src) == source:  # as os.replace does across devices
            raise OSError(18, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    key = a_key()
    run(store.put_file(key, source))
    assert (store.root / key).read_bytes() == b"from another device"
    assert len(calls) == 2


def test_storage_url_selects_the_backend(tmp_path: Path) -> None:
    default = build_blob_store(make_settings(tmp_path, None))
    assert isinstance(default, LocalBlobStore)
    assert default.root == tmp_path / "blobs"
    with pytest.raises(ValueError, match="file:///path or s3://"):
        build_blob_store(make_settings(tmp_path, None, storage_url="ftp://x/y"))
    with pytest.raises(ValueError, match="bucket"):
        build_blob_store(make_settings(tmp_path, None, storage_url="s3:///prefix"))
