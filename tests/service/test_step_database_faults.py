"""A Celery step whose database answers but keeps failing it (jobs/steps.run_patiently), against
real PostgreSQL: the step is run again with growing pauses and gives up after
DB_FAULT_RETRY_SECONDS, instead of asking the database again at once, without end.

(A database that does not answer at all is tests/distributed/test_faults_retry.py.)"""

import sqlalchemy as sa

from infra.extensions import db, job_store
from jobs.steps import FIRST_REPEAT_PAUSE, MAX_REPEAT_PAUSE, repeat_pause, run_patiently
from support.services import clean_postgres

# Enough tries to show the step was run again at once, without end: the step then succeeds, so a
# run_patiently without pauses or a deadline returns instead of spinning for ever.
ENOUGH = 50


def test_a_database_that_keeps_failing_the_step_is_asked_ever_less_often_then_the_job_fails(
        make_app, migrated_pg, redis_url, add_job):
    app = make_app(SQLALCHEMY_DATABASE_URI=migrated_pg, REDIS_URL=redis_url, DB_FAULT_RETRY_SECONDS=4)
    clean_postgres(app)
    job_id = add_job(app)
    tries = []

    def claim_and_run():
        tries.append(1)
        if len(tries) > ENOUGH:
            return "ran"
        # PostgreSQL cancels the statement (QueryCanceled, an OperationalError) and still answers.
        db.session.execute(sa.text("SET LOCAL statement_timeout = 1"))
        db.session.execute(sa.text("SELECT pg_sleep(1)"))
        return "ran"

    with app.app_context():
        assert job_store().start(job_id, owner=None)
        assert run_patiently(job_id, claim_and_run) == "failed"
        doc = job_store().load(job_id)
    # 4 s hold pauses of 0, 0.5, 1 and 2 s, then what is left: six tries at most.
    assert 2 <= len(tries) <= 6
    assert doc["status"] == "failed"
    assert "gave up after 4 s: the database kept failing the step (OperationalError" in doc["error"]


def test_the_pause_grows_from_the_second_fault_and_stops_growing_at_its_cap():
    pauses = [repeat_pause(n) for n in range(1, 12)]
    assert pauses[:4] == [0.0, FIRST_REPEAT_PAUSE, 2 * FIRST_REPEAT_PAUSE, 4 * FIRST_REPEAT_PAUSE]
    assert pauses == sorted(pauses) and pauses[-1] == MAX_REPEAT_PAUSE
