"""Leaves of the service: settings, logging, metrics, storage (local, S3), Flask extensions and
the video URL guard. Nothing here imports the rest of the service (docs/architecture.md)."""
