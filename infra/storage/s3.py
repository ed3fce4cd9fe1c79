"""S3-compatible storage (AWS S3, MinIO, Cloudflare R2, moto): STORAGE_URL=s3://bucket/prefix.

Web and worker processes on different machines see the same artifacts through it. An S3 PUT
(and a multipart upload, which boto3 uses for large files) makes the object visible only once it
is complete, so `put_file` publishes whole files without a staging step. Nothing is served from
a local path: the API streams `open(key)`.
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.storage.local import ObjectInfo, Storage, StorageError, clean_key

# Short connect timeout: the health check and a request must not hang on a dead endpoint.
_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"},
                        s3={"addressing_style": "path"})
# Files above 64 MB go up in parts (still published atomically, on CompleteMultipartUpload).
_TRANSFER = TransferConfig(multipart_threshold=64 * 2**20, multipart_chunksize=16 * 2**20)
_MISSING = ("404", "NoSuchKey", "NotFound")


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message') or 'no message'}"
    return str(exc) or type(exc).__name__


class S3Storage(Storage):
    """Objects under `prefix/` in one bucket. Keys are the same relative paths LocalStorage uses."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, access_key: str | None = None, secret_key: str | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        # Keys left None fall back to boto3's own chain (env, ~/.aws, instance role).
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
                                   aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                   config=_CLIENT_CONFIG)

    @classmethod
    def from_url(cls, url: str, **options) -> "S3Storage":
        """`s3://bucket/optional/prefix`; options as in __init__."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise StorageError(f"not an s3://bucket/prefix URL: {url!r}")
        return cls(parsed.netloc, parsed.path, **options)

    def _key(self, key: str) -> str:
        key = clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _errors(self, doing: str, key: str):
        """Translate boto errors: a missing object is FileNotFoundError, the rest StorageError."""
        try:
            yield
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(f"no object {key} in s3://{self.bucket}") from None
            raise StorageError(f"cannot {doing} {key} in s3://{self.bucket}: {_reason(exc)}") from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"cannot {doing} {key} in s3://{self.bucket}: {_reason(exc)}") from exc

    def put_file(self, key: str, source: Path) -> int:
        with self._errors("write", key):
            self.client.upload_file(str(source), self.bucket, self._key(key), Config=_TRANSFER)
        return os.path.getsize(source)

    def fetch(self, key: str, dest: Path) -> None:
        # boto3 downloads to a temporary name beside `dest` and renames it when complete.
        with self._errors("read", key):
            self.client.download_file(self.bucket, self._key(key), str(dest))

    def open(self, key: str) -> "ObjectReader":
        """A seekable reader of the object; FileNotFoundError when absent."""
        reader = ObjectReader(self, key)
        reader.seek(0)  # asks for the object now, so a missing one fails here
        return reader

    def stat(self, key: str) -> ObjectInfo:
        with self._errors("check", key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        return ObjectInfo(head["ContentLength"], head["ETag"].strip('"'), head["LastModified"])

    def _body_from(self, key: str, offset: int):
        """The object's bytes from `offset` on, as a stream (a ranged GET: nothing before it is sent)."""
        extra = {"Range": f"bytes={offset}-"} if offset else {}
        with self._errors("read", key):
            try:
                return self.client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)["Body"]
            except ClientError as exc:
                if offset and exc.response.get("Error", {}).get("Code") == "InvalidRange":
                    return io.BytesIO(b"")  # at or past the end: nothing more to read
                raise

    def exists(self, key: str) -> bool:
        try:
            with self._errors("check", key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except FileNotFoundError:
            return False

    def delete_prefix(self, prefix: str) -> int:
        folder = self._key(prefix) + "/"
        deleted = 0
        with self._errors("delete", folder):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder)
            for page in pages:
                objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if objects:  # a listing page holds at most 1000 keys, the delete_objects limit
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
                    deleted += len(objects)
        return deleted

    def folders(self, prefix: str) -> Iterator[str]:
        # With a Delimiter a listing page holds up to 1000 folder names (CommonPrefixes), not
        # the objects inside them: a bucket of many jobs is listed in a request per 1000 jobs.
        base = self._key(prefix) + "/"
        with self._errors("list", base):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base,
                                                                          Delimiter="/")
            for page in pages:
                for entry in page.get("CommonPrefixes", []):
                    yield entry["Prefix"][len(base):].rstrip("/")

    def newest_change(self, prefix: str) -> datetime | None:
        # LastModified of an object sent in parts is when its upload began, not when it ended.
        folder = self._key(prefix) + "/"
        newest = None
        with self._errors("list", folder):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder):
                for item in page.get("Contents", []):
                    newest = item["LastModified"] if newest is None else max(newest, item["LastModified"])
        return newest

    def check(self) -> str:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"bucket s3://{self.bucket} is not reachable: {_reason(exc)}") from exc
        return "ok"

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"


class ObjectReader(io.RawIOBase):
    """An S3 object read as a file: seek() starts a ranged GET there, so a Range request for the
    end of a large file does not download its beginning."""

    def __init__(self, storage: S3Storage, key: str):
        super().__init__()
        self.storage, self.key = storage, key
        self.position, self.body = 0, None

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET:
            raise io.UnsupportedOperation("ObjectReader seeks from the start only")
        if self.body is None or offset != self.position:
            self._close_body()
            self.body = self.storage._body_from(self.key, offset)
            self.position = offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        if self.body is None:
            self.seek(self.position)
        data = self.body.read(len(buffer))
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)

    def close(self) -> None:
        self._close_body()
        super().close()

    def _close_body(self) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None
