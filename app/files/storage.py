"""Private file storage behind one small interface. Development and tests: local disk under
`data_dir/uploads`, outside anything a static route serves. Bytes only ever leave through the
authorized download handler."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import anyio


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


def new_key(prefix: str) -> str:
    """Unguessable and unrelated to the uploader's file name."""
    token = secrets.token_hex(16)
    return f"{prefix}/{token[:2]}/{token}"


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key outside the storage root: {key!r}")
        return path

    async def put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._put, key, data)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(".partial")
        # Owner-only permissions; written under a temporary name and renamed, so a crash never
        # leaves a half file under a real key.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        partial.replace(path)

    async def get(self, key: str) -> bytes:
        return await anyio.to_thread.run_sync(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self._path(key).unlink(missing_ok=True))

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def all_keys(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())


@lru_cache(maxsize=4)  # one client per process: an S3 client is costly to build per request
def storage_for(settings) -> Storage:
    """Local disk in development and tests; an S3-compatible bucket when STORAGE_BACKEND=s3."""
    if settings.storage_backend == "s3":
        from app.platform.s3 import S3Storage

        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
        )
    return LocalStorage(Path(settings.data_dir) / "uploads")
