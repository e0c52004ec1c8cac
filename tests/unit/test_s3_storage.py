"""The S3 storage adapter against a local S3 server (moto in server mode: real HTTP, real S3 API)."""

import os
import socket

import boto3
import pytest
from moto.server import ThreadedMotoServer

from app.platform.s3 import S3Storage


@pytest.fixture(scope="module")
def s3_endpoint():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    previous = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="eu-central-1").create_bucket(
        Bucket="pactline-private", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    yield endpoint
    server.stop()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


async def test_put_get_delete_round_trip_is_private_and_encrypted(s3_endpoint):
    storage = S3Storage("pactline-private", endpoint_url=s3_endpoint, region="eu-central-1", prefix="uploads")
    await storage.put("kyc/ab/abcdef", b"%PDF-1.7 identity document")
    assert storage.exists("kyc/ab/abcdef")
    assert await storage.get("kyc/ab/abcdef") == b"%PDF-1.7 identity document"
    raw = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-central-1")
    head = raw.head_object(Bucket="pactline-private", Key="uploads/kyc/ab/abcdef")
    assert head["ServerSideEncryption"] == "AES256"
    acl = raw.get_object_acl(Bucket="pactline-private", Key="uploads/kyc/ab/abcdef")
    assert all(grant["Grantee"].get("URI") is None for grant in acl["Grants"]), "no public grants"
    await storage.delete("kyc/ab/abcdef")
    assert not storage.exists("kyc/ab/abcdef")


def test_the_app_uses_s3_when_configured(s3_endpoint, settings):
    from dataclasses import replace

    from app.files.storage import LocalStorage, storage_for

    assert isinstance(storage_for(settings), LocalStorage)
    s3 = storage_for(
        replace(
            settings,
            storage_backend="s3",
            s3_bucket="pactline-private",
            s3_endpoint_url=s3_endpoint,
            s3_region="eu-central-1",
        )
    )
    assert isinstance(s3, S3Storage) and s3.bucket == "pactline-private"
