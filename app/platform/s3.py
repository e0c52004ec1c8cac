"""Private file storage on any S3-compatible service (AWS S3, Cloudflare R2, MinIO, Backblaze),
through boto3. Same interface as the local-disk storage; objects are never public: bytes leave
only through the app's authorized download handler."""

from __future__ import annotations

import anyio
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class S3Storage:
    def __init__(
        self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None, prefix: str = ""
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        # Credentials come from the standard AWS_* environment variables (or the instance role).
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ServerSideEncryption="AES256"
            )
        )

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

        return await anyio.to_thread.run_sync(read)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key)))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
