"""An uploaded MPEG-TS file (what screen recorders and HLS segments make) gets the same slide
times as the same video in MP4: it is stored as MP4 (packets unchanged), where seeking is exact."""

from slidecast.video import remux


def test_an_mpegts_upload_is_stored_as_mp4_and_finds_the_same_slide_changes(embedded_client, service_clip,
                                                                             wait_job, tmp_path):
    stream = tmp_path / "week2.ts"
    remux(service_clip, stream, "mpegts")
    jobs = {}
    for path in (service_clip, stream):
        response = embedded_client.post("/api/jobs", data={"file": (path.open("rb"), path.name), "ocr": "false"})
        assert response.status_code == 202, response.get_data(as_text=True)
        jobs[path.suffix] = wait_job(embedded_client, response.get_json()["id"])
    assert all(job["status"] == "succeeded" for job in jobs.values()), jobs
    assert jobs[".ts"]["source"]["filename"] == "week2.ts"  # the name the person sent, though stored as MP4

    def starts(job):
        slides = embedded_client.get(f"/api/jobs/{job['id']}/slides").get_json()["slides"]
        return [s["start"] for s in slides]

    ts, mp4 = starts(jobs[".ts"]), starts(jobs[".mp4"])
    # Before: the upload was refused as truncated (its end did not decode after a seek), and the
    # library on the .ts itself found 3 of the 4 changes 1-2 s early. Now within two frames.
    assert len(ts) == len(mp4) == 5
    assert all(abs(a - b) <= 0.1 for a, b in zip(ts, mp4)), (ts, mp4)
