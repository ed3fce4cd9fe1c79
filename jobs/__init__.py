"""What happens to a job: its inputs, the steps on Celery (claim, heartbeat, retry policy), the
task graph and long-video chunks, publishing, recovery, the thread-pool executor and the storage
key layout. Celery tasks (tasks.py) and the API (api/) call in here (docs/architecture.md)."""
