"""Where uploads and artifacts live. All reads and writes of job files go through a Storage.

Keys are relative POSIX paths such as `jobs/<id>/out/slides.pdf`. A file is published whole:
readers never see a partly written artifact. `open_storage(STORAGE_URL)` picks the backend; the
local folder is the default, and an S3 backend (issue 6) only has to implement `Storage`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import urlparse


class StorageError(Exception):
    """The storage backend could not read or write; the message says which key and why."""


class ObjectInfo(NamedTuple):
    """What a reader needs to answer conditional and range requests for one stored object."""

    size: int
    etag: str  # changes whenever the content may have changed; without quotes
    modified: datetime


class Storage(ABC):
    """The interface every backend implements."""

    @abstractmethod
    def put_file(self, key: str, source: Path) -> int:
        """Publish the file at `source` under `key` atomically; return its size in bytes."""

    @abstractmethod
    def fetch(self, key: str, dest: Path) -> None:
        """Copy the object at `key` to the local path `dest`."""

    @abstractmethod
    def open(self, key: str):
        """A seekable binary file object for reading `key`; FileNotFoundError when it does not
        exist."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag and modification time of `key`; FileNotFoundError when it does not exist."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix/`; return how many went."""

    @abstractmethod
    def check(self) -> str:
        """Health probe: "ok", or raises StorageError saying what is wrong."""

    def describe(self) -> str:
        return type(self).__name__


def clean_key(key: str) -> str:
    """Reject absolute keys and `..` so a key can never escape the storage root."""
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise StorageError(f"invalid storage key {key!r}")
    return str(path)


class LocalStorage(Storage):
    """Files under one folder. Writes go to `.tmp/` then `os.replace` into place (atomic)."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.tmp = self.root / ".tmp"

    def _path(self, key: str) -> Path:
        return self.root / clean_key(key)

    def put_file(self, key: str, source: Path) -> int:
        target = self._path(key)
        staging = self.tmp / f"{uuid.uuid4().hex}.part"
        try:  # a full or read-only disk is a StorageError (retried), folders included
            target.parent.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging)
            os.replace(staging, target)
        except OSError as exc:
            staging.unlink(missing_ok=True)
            raise StorageError(f"cannot write {key}: {exc.strerror or exc}") from exc
        return target.stat().st_size

    def fetch(self, key: str, dest: Path) -> None:
        shutil.copyfile(self._path(key), dest)

    def open(self, key: str):
        return open(self._path(key), "rb")

    def stat(self, key: str) -> ObjectInfo:
        info = os.stat(self._path(key))
        # Files are replaced whole (put_file), never written in place: time and size tell them apart.
        return ObjectInfo(info.st_size, f"{info.st_mtime_ns:x}-{info.st_size:x}",
                          datetime.fromtimestamp(info.st_mtime, timezone.utc))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete_prefix(self, prefix: str) -> int:
        folder = self._path(prefix)
        if not folder.exists():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def check(self) -> str:
        try:
            self.tmp.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.tmp, prefix="health-"):
                pass
        except OSError as exc:
            raise StorageError(f"folder {self.root} is not writable: {exc.strerror or exc}") from exc
        return "ok"

    def describe(self) -> str:
        return f"local folder {self.root}"


def open_storage(url: str, config: dict | None = None) -> Storage:
    """The backend for STORAGE_URL (settings.py has validated its scheme). `config` supplies the
    S3 settings for s3:// URLs (default: read from the environment by settings.load_settings)."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        from settings import load_settings
        from storage_s3 import S3Storage
        cfg = config if config is not None else load_settings()
        return S3Storage.from_url(url, endpoint_url=cfg.get("S3_ENDPOINT_URL"), region=cfg.get("AWS_REGION"),
                                  access_key=cfg.get("AWS_ACCESS_KEY_ID"),
                                  secret_key=cfg.get("AWS_SECRET_ACCESS_KEY"))
    if parsed.scheme == "file":
        return LocalStorage(Path(parsed.path))
    return LocalStorage(Path(url))
