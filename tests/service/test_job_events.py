"""GET /api/jobs/ID/events: live progress as Server-Sent Events, on Redis streams and in
embedded mode (the in-process executor's own log)."""

import pytest

from infra.events import MemoryEventLog
from infra.extensions import job_store
from support.sse import EventReader, events_only

MODES = ["client", "embedded_client"]


@pytest.mark.parametrize("mode", MODES)
def test_a_client_that_reconnects_with_last_event_id_gets_every_missed_event_in_order(
        request, mode, service_clip, wait_job):
    client = request.getfixturevalue(mode)
    job_id = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4")}).get_json()["id"]
    path = f"/api/jobs/{job_id}/events"

    first = EventReader(client, path)
    assert first.response.status_code == 200 and first.response.mimetype == "text/event-stream"
    seen = []
    while len(seen) < 2:  # disconnect mid-job, after two events
        frame = first.next()
        if frame["event"]:
            seen.append(frame)
    first.close()
    assert wait_job(client, job_id)["status"] == "succeeded"

    resumed = events_only(EventReader(client, path, last_event_id=seen[-1]["id"]).rest())
    everything = events_only(EventReader(client, path).rest())

    assert [f["id"] for f in seen + resumed] == [f["id"] for f in everything]
    assert seen + resumed == everything
    assert everything[0]["event"] == "created" and everything[0]["data"]["status"] == "queued"
    stages = [f["data"]["stage"] for f in everything if f["event"] == "progress"]
    assert {"decoding", "detecting", "ocr"} <= set(stages)
    progress = [f["data"]["progress"] for f in everything if f["data"].get("progress") is not None]
    assert progress == sorted(progress), "progress went backwards"
    final = everything[-1]
    assert final["event"] == "succeeded" and final["data"]["progress"] == 100.0
    assert final["data"]["slide_count"] == 5 and "pdf" in final["data"]["artifacts"]


@pytest.mark.parametrize("mode", MODES)
def test_a_transcription_with_no_sound_to_transcribe_moves_the_progress_no_further(request, mode, service_clip,
                                                                                  wait_job):
    # The clip has no sound track. Its transcription's share used to be jumped (75 -> 92 %)
    # the moment the stage found that: the stage is still named, but it now has no share.
    client = request.getfixturevalue(mode)
    job_id = client.post("/api/jobs", data={"file": (service_clip.open("rb"), "cuts.mp4"),
                                            "transcribe": "true"}).get_json()["id"]
    job = wait_job(client, job_id)
    assert job["status"] == "succeeded" and any("no sound track" in w for w in job["warnings"]), job
    steps = [(f["data"]["stage"], f["data"]["progress"])
             for f in events_only(EventReader(client, f"/api/jobs/{job_id}/events").rest()) if f["event"] == "progress"]
    transcribing = sorted({percent for stage, percent in steps if stage == "transcribing"})
    assert len(transcribing) == 1, steps
    assert min(percent for stage, percent in steps if stage == "generating") == transcribing[0], steps
    percents = [percent for _, percent in steps]
    assert percents == sorted(percents)


@pytest.mark.parametrize("mode", MODES)
def test_progress_events_carry_the_progress_a_poll_shows_never_a_lower_step_percent(request, mode, add_job):
    # A later stage, or a step run again after a restart, may report less than the job has
    # made. The store keeps the most; the events carried the step's own number, so a progress
    # bar fed by the stream jumped back while polling did not.
    client = request.getfixturevalue(mode)
    job_id = add_job(client.application)
    with client.application.app_context():
        store = job_store()
        assert store.start(job_id, owner=None)
        assert store.report_progress(job_id, "decoding", 60.0, "decoding")
        assert store.report_progress(job_id, "detecting", 40.0, "detecting")
        assert store.report_progress(job_id, "detecting", 45.0, "detecting again", force=True)
    polled = client.get(f"/api/jobs/{job_id}").get_json()
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200

    frames = events_only(EventReader(client, f"/api/jobs/{job_id}/events").rest())
    steps = [(f["data"]["stage"], f["data"]["progress"]) for f in frames if f["event"] == "progress"]
    assert steps == [("decoding", 60.0), ("detecting", 60.0), ("detecting", 60.0)]
    assert (polled["stage"], polled["progress"]) == steps[-1]


@pytest.mark.parametrize("mode", MODES)
def test_a_quiet_stream_sends_heartbeats_and_ends_with_the_final_state(request, mode, add_job):
    client = request.getfixturevalue(mode)
    client.application.config["SSE_HEARTBEAT_SECONDS"] = 0.2
    job_id = add_job(client.application)  # stays queued: nothing runs it
    stream = EventReader(client, f"/api/jobs/{job_id}/events")
    assert stream.next()["retry"] == "2000"
    assert stream.next()["event"] == "created"
    heartbeat = stream.next()
    assert heartbeat["comment"] == "heartbeat" and heartbeat["event"] is None

    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    rest = stream.rest()
    assert [f["event"] for f in events_only(rest)] == ["cancelled"]
    assert rest[-1]["data"]["status"] == "cancelled"  # then the stream ended


def test_a_job_that_ended_before_the_server_restarted_gets_its_final_state_without_a_wait(embedded_client, add_job):
    # The in-process event log starts empty after a restart: the stream waited a whole heartbeat
    # (15 s by default) for news of a job that had long ended before it answered from the store.
    app = embedded_client.application
    job_id = add_job(app)
    assert embedded_client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    waits = []

    class RestartedLog(MemoryEventLog):
        def read(self, job_id, after, wait):
            waits.append(wait)
            return super().read(job_id, after, wait)

    app.extensions["slidecast.jobs"].events = RestartedLog()
    frames = EventReader(embedded_client, f"/api/jobs/{job_id}/events").rest()
    assert [f["event"] for f in events_only(frames)] == ["cancelled"]
    assert frames[-1]["data"]["status"] == "cancelled"
    assert waits == [0], "the stream waited for events of a job that had ended"


def test_events_of_an_unknown_job_are_a_404_problem(client):
    response = client.get("/api/jobs/0b8f6c2e-3f1a-4c55-9f0e-2a7d5b1c9e44/events")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_streams_beyond_the_per_process_limit_are_refused_with_retry_after(client, add_job):
    client.application.config["SSE_HEARTBEAT_SECONDS"] = 0.2
    client.application.extensions["slidecast.streams"].limit = 1
    job_id = add_job(client.application)
    held = EventReader(client, f"/api/jobs/{job_id}/events")
    held.next()
    refused = client.get(f"/api/jobs/{job_id}/events")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert "SSE_MAX_STREAMS" in refused.get_json()["detail"]
    held.close()
    again = EventReader(client, f"/api/jobs/{job_id}/events")
    assert again.response.status_code == 200
    again.close()
