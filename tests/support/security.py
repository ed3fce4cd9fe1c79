"""API keys for the security tests, made the way an operator makes them (the CLI)."""

from __future__ import annotations


def make_key(app, name: str, admin: bool = False) -> str:
    """Run `flask keys create NAME [--admin]` on `app` and return the key (its last word)."""
    args = ["keys", "create", name] + (["--admin"] if admin else [])
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output.split()[-1]


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
