"""Profile tests start with an empty upload folder, as every test starts with empty tables."""

import shutil

import pytest

from app.files.storage import storage_for


@pytest.fixture(autouse=True)
def empty_uploads(settings):
    shutil.rmtree(storage_for(settings).root, ignore_errors=True)
    yield
