"""Where uploads and artifacts live. All reads and writes of job files go through a Storage.

Keys are relative POSIX paths such as `jobs/<id>/out/slides.pdf`. A file is published whole:
readers never see a partly written artifact. This module holds the interface and the local
folder backend; infra/storage/s3.py the S3 one; `infra.storage.open_storage` picks one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterator, NamedTuple


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
    def folders(self, prefix: str) -> Iterator[str]:
        """The names of the folders directly under `prefix/` (`jobs` -> each job id that has
        files), read as they are listed: no object inside them is read."""

    @abstractmethod
    def newest_change(self, prefix: str) -> datetime | None:
        """When anything under `prefix/` was last written (UTC); None when nothing is there."""

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

    def folders(self, prefix: str) -> Iterator[str]:
        try:
            with os.scandir(self._path(prefix)) as entries:
                names = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return
        yield from names

    def newest_change(self, prefix: str) -> datetime | None:
        # Folders count too: put_file creates the job's folder before it copies a large file
        # into .tmp/, and an empty folder just made is as recent as a file just written.
        newest = None
        for root, dirs, files in os.walk(self._path(prefix)):
            for name in [""] + dirs + files:
                try:
                    changed = os.stat(os.path.join(root, name), follow_symlinks=False).st_mtime
                except FileNotFoundError:  # removed meanwhile
                    continue
                newest = changed if newest is None else max(newest, changed)
        return None if newest is None else datetime.fromtimestamp(newest, timezone.utc)

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
