"""Where uploads and artifacts live: `open_storage(STORAGE_URL)` picks the backend (a local folder
by default, S3 for s3://bucket/prefix). Every read and write of job files goes through a Storage."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from infra.settings import load_settings
from infra.storage.local import LocalStorage, ObjectInfo, Storage, StorageError, clean_key
from infra.storage.s3 import S3Storage

__all__ = ["Storage", "StorageError", "ObjectInfo", "LocalStorage", "S3Storage", "clean_key", "open_storage"]


def open_storage(url: str, config: dict | None = None) -> Storage:
    """The backend for STORAGE_URL (settings.py has validated its scheme). `config` supplies the
    S3 settings for s3:// URLs (default: read from the environment by settings.load_settings)."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        cfg = config if config is not None else load_settings()
        return S3Storage.from_url(url, endpoint_url=cfg.get("S3_ENDPOINT_URL"), region=cfg.get("AWS_REGION"),
                                  access_key=cfg.get("AWS_ACCESS_KEY_ID"),
                                  secret_key=cfg.get("AWS_SECRET_ACCESS_KEY"))
    if parsed.scheme == "file":
        return LocalStorage(Path(parsed.path))
    return LocalStorage(Path(url))
