"""API keys: who is asking, which jobs they may see, and the operations endpoints.

With AUTH_REQUIRED every /api route except the public ones (health, the OpenAPI document and its
page) needs a key, sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`; a missing, unknown or
revoked key is 401 problem+json with WWW-Authenticate. A job belongs to the key that submitted it;
another key gets 404 for it (existence is not disclosed). Admin keys see every job. The
operations endpoints need an admin key or METRICS_TOKEN. Without AUTH_REQUIRED keys are not
asked for and every caller sees every job (the embedded, one-machine mode).

Keys are made with `flask keys create NAME [--admin]`; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

import click
import sqlalchemy as sa
from flask import Flask, current_app, g, request
from flask.cli import AppGroup
from flask_limiter.util import get_remote_address

from api.errors import problem
from infra.extensions import db
from models import ApiKey, utcnow

PUBLIC_PATHS = ("/api/health", "/api/docs", "/api/openapi.json")
OPERATIONS_PATHS = ("/metrics", "/api/queues", "/api/cache/stats", "/api/stats")
KEY_PREFIX = "sk_"
# A revoked key stops working within this many seconds in every web process.
IDENTITY_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class Caller:
    """An authenticated API key: `id` owns the jobs it submits; `admin` sees every job."""

    id: int
    name: str
    admin: bool


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> str:
    """A fresh key: "sk_" and 32 random bytes, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


class _KeyCache:
    """key hash -> Caller (or None for an unknown key) for IDENTITY_CACHE_SECONDS, so that polls
    do not cost a database query each."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Caller | None]] = {}

    def lookup(self, digest: str) -> Caller | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(digest)
        if entry is not None and entry[0] > now:
            return entry[1]
        caller = _load_caller(digest)
        with self._lock:
            if len(self._entries) > 10000:  # a flood of wrong keys must not grow memory
                self._entries.clear()
            self._entries[digest] = (now + IDENTITY_CACHE_SECONDS, caller)
        return caller


def _load_caller(digest: str) -> Caller | None:
    row = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))
    return Caller(row.id, row.name, row.admin) if row is not None else None


def presented_key() -> str | None:
    """The key the request carries (Bearer token or X-API-Key), or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-Key") or None


def caller() -> Caller | None:
    """The request's valid API key, or None (no key, a wrong key, or AUTH_REQUIRED off)."""
    if "slidecast_caller" not in g:
        key = presented_key() if current_app.config["AUTH_REQUIRED"] else None
        g.slidecast_caller = current_app.extensions["slidecast.keys"].lookup(hash_key(key)) if key else None
    return g.slidecast_caller


def owner_filter() -> int | bool:
    """Whose jobs the caller may see: a key id, or True for every job (admin, or no auth)."""
    who = caller()
    if who is None or who.admin:
        return True
    return who.id


def may_see(doc: dict) -> bool:
    """Whether the caller may know that the job `doc` exists."""
    allowed = owner_filter()
    return allowed is True or doc.get("api_key_id") == allowed


def submitter_id() -> int | None:
    """The key id a new job belongs to (None without a key)."""
    who = caller()
    return who.id if who is not None else None


def check_priority(priority: int | None, default: int) -> None:
    """With keys, only an admin key may put a job ahead of the default priority: otherwise any
    caller could jump every other key's queue. Lower priorities are anyone's to ask for."""
    who = caller()
    if priority is not None and priority > default and who is not None and not who.admin:
        problem(403, f"priority {priority} needs an admin key; other keys may ask for 0 to {default} (the default)")


def rate_limit_key() -> str:
    """Rate limits count per API key when there is one, else per client address."""
    who = caller()
    return f"key:{who.id}" if who is not None else f"addr:{get_remote_address()}"


def _unauthorized(detail: str):
    problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="slidecast"'})


def _is_operator_token() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    given = presented_key()
    return bool(token and given and hmac.compare_digest(token.encode(), given.encode()))


def _check_request():
    """before_request: with AUTH_REQUIRED, refuse a request without a valid key (401), and an
    operations endpoint without an admin key or METRICS_TOKEN (403)."""
    if not current_app.config["AUTH_REQUIRED"] or request.method == "OPTIONS":
        return
    path = request.path
    if path in PUBLIC_PATHS or not (path.startswith("/api/") or path in OPERATIONS_PATHS):
        return
    operations = path in OPERATIONS_PATHS
    if operations and _is_operator_token():
        return
    if presented_key() is None:
        _unauthorized("this endpoint needs an API key: send `Authorization: Bearer KEY` or `X-API-Key: KEY` "
                      "(an operator makes one with `flask keys create NAME`)")
    who = caller()
    if who is None:
        _unauthorized("the API key is unknown or revoked; ask an operator for a key (`flask keys create NAME`)")
    if operations and not who.admin:
        problem(403, f"{path} is for operators: it needs an admin key (`flask keys create NAME --admin`) "
                     "or METRICS_TOKEN")


def is_operator() -> bool:
    """Whether the caller may see operational details (paths, addresses): anyone when
    AUTH_REQUIRED is off, else an admin key or METRICS_TOKEN."""
    if not current_app.config["AUTH_REQUIRED"]:
        return True
    if _is_operator_token():
        return True
    who = caller()
    return who is not None and who.admin


def init_auth(app: Flask) -> None:
    """Check keys before every request and add the `flask keys` commands."""
    app.extensions["slidecast.keys"] = _KeyCache()
    app.before_request(_check_request)
    app.cli.add_command(keys_cli)


# ---- flask keys ... --------------------------------------------------------------------------
keys_cli = AppGroup("keys", help="Create, list and revoke API keys.")


@keys_cli.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="the key sees every job and the operations endpoints")
def create_key_command(name: str, admin: bool) -> None:
    """Create a key named NAME; the key is printed once, as the last word of the output."""
    if db.session.scalar(sa.select(ApiKey).where(ApiKey.name == name)) is not None:
        raise click.ClickException(f"a key named {name!r} exists already; choose another name or revoke it")
    key = new_key()
    db.session.add(ApiKey(name=name, key_hash=hash_key(key), prefix=key[:8], admin=admin))
    db.session.commit()
    kind = "admin key" if admin else "key"
    click.echo(f"created {kind} {name!r}; it is shown only now, store it safely: {key}")


@keys_cli.command("list")
def list_keys_command() -> None:
    """Every key: name, first characters, admin or not, created, revoked."""
    rows = db.session.scalars(sa.select(ApiKey).order_by(ApiKey.created_at)).all()
    if not rows:
        click.echo("no API keys; make one with `flask keys create NAME`")
    for row in rows:
        revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        click.echo(f"{row.name}\t{row.prefix}...\t{'admin' if row.admin else 'user'}\t"
                   f"created {row.created_at:%Y-%m-%d %H:%M}\t{revoked}")


@keys_cli.command("revoke")
@click.argument("name")
def revoke_key_command(name: str) -> None:
    """Revoke the key named NAME (its jobs stay; admin keys still see them)."""
    row = db.session.scalar(sa.select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    if row is None:
        raise click.ClickException(f"no active key named {name!r}; `flask keys list` shows the keys")
    row.revoked_at = utcnow()
    db.session.commit()
    click.echo(f"revoked {name!r}; it stops working within {IDENTITY_CACHE_SECONDS:.0f} s")
