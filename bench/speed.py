"""Speed side by side on one video: our engine, a full decode and PySceneDetect, in rounds.

    python bench/speed.py /work/realbench-speed/dev/lecture20-b2t-pip.mp4 --rounds 5
    python bench/speed.py bench/videos/long20.mp4 --methods ours decode ours@/tmp/old-checkout

Each round runs every method once, one after the other, each in its own process
(bench/methods.py), so all methods see the same machine load; the report is the median over
rounds of wall seconds, CPU seconds (user + system, steadier than wall on a shared machine) and
peak RSS, the ratios of the full decode's and PySceneDetect's medians to ours, and the load
average before and after. `ours@DIR` runs DIR/bench/methods.py (another checkout's engine).

Checked before anything is printed: every run of a method found the same transitions (an engine
that changes its answer between rounds is not being timed fairly), and the full decode saw as
many frames as the video has (a decode that stopped early would flatter nobody but itself).
Issue #10's targets are printed as met or not met: ours at least 3x faster than the full decode
and 6x faster than PySceneDetect (wall, medians), peak RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scoring import score  # noqa: E402

TARGETS = {"decode": 3.0, "pyscenedetect": 6.0}
RSS_LIMIT_MB = 300


def run(method: str, video: Path, timeout: float) -> dict:
    name, _, checkout = method.partition("@")
    script = Path(checkout) / "bench" / "methods.py" if checkout else HERE / "methods.py"
    done = subprocess.run([sys.executable, str(script), name, str(video)], capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"{method} failed: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(video: Path, methods: list[str], rounds: int, timeout: float) -> dict:
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    for r in range(rounds):
        for method in methods:
            result = run(method, video, timeout)
            runs[method].append(result)
            print(f"[{r + 1}/{rounds}] {method:16s} {result['seconds']:7.2f} s wall {result['cpu_seconds']:7.2f} s CPU "
                  f"{result['peak_rss_mb']:5.0f} MB  load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    return {"video": str(video), "started": started, "ended": time.strftime("%H:%M:%S UTC", time.gmtime()),
            "load_before": load_before, "load_after": os.getloadavg(), "runs": runs}


def check(measured: dict, truth: dict | None) -> None:
    for method, results in measured["runs"].items():
        found = [r.get("transitions") for r in results]
        assert all(f == found[0] for f in found), f"{method} found different transitions in different rounds"
        if method.startswith("decode") and truth:
            frames = round(truth["duration"] * truth["fps"])
            assert all(abs(r["frames"] - frames) <= 1 for r in results), \
                f"{method} decoded {[r['frames'] for r in results]} frames of {frames}"


def median(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def report(measured: dict, truth: dict | None) -> str:
    runs = measured["runs"]
    lines = [f"{measured['video']}: {len(next(iter(runs.values())))} rounds, {measured['started']} - "
             f"{measured['ended']}, load average (1/5/15 min) before "
             f"{'/'.join(f'{x:.1f}' for x in measured['load_before'])}, after "
             f"{'/'.join(f'{x:.1f}' for x in measured['load_after'])}", "",
             "| method | wall s (median) | wall s per round | CPU s (median) | peak RSS MB | transitions | F1 |",
             "|---|---|---|---|---|---|---|"]
    for method, results in runs.items():
        found = results[0].get("transitions")
        f1 = f"{score(truth, found, results[0].get('same_as'))['f1']:.3f}" if truth and found is not None else "-"
        walls = ", ".join(f"{r['seconds']:.1f}" for r in results)
        lines.append(f"| {method} | {median(results, 'seconds'):.2f} | {walls} | {median(results, 'cpu_seconds'):.2f} | "
                     f"{max(r['peak_rss_mb'] for r in results):.0f} | {'-' if found is None else len(found)} | {f1} |")
    lines.append("")
    if "ours" in runs:
        ours = runs["ours"]
        for other in [m for m in runs if m != "ours"]:
            wall = median(runs[other], "seconds") / median(ours, "seconds")
            cpu = median(runs[other], "cpu_seconds") / median(ours, "cpu_seconds")
            per_round = ", ".join(f"{o['seconds'] / u['seconds']:.2f}" for o, u in zip(runs[other], ours))
            target = TARGETS.get(other)
            verdict = f"; target {target:g}x: {'met' if wall >= target else 'NOT met'}" if target else ""
            lines.append(f"- {other} / ours: {wall:.2f}x wall (per round {per_round}), {cpu:.2f}x CPU{verdict}")
        rss = max(r["peak_rss_mb"] for r in ours)
        lines.append(f"- ours peak RSS {rss:.0f} MB; target < {RSS_LIMIT_MB} MB: "
                     f"{'met' if rss < RSS_LIMIT_MB else 'NOT met'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", type=Path)
    parser.add_argument("--methods", nargs="+", default=["ours", "decode", "pyscenedetect"],
                        help="bench/methods.py names; ours@DIR runs DIR's checkout")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json", type=Path, help="save the raw runs here")
    parser.add_argument("--from-json", type=Path, help="report runs saved with --json")
    args = parser.parse_args(argv)
    truth_file = Path(str(args.video) + ".truth.json")
    truth = json.loads(truth_file.read_text()) if truth_file.exists() else None
    if args.from_json:
        measured = json.loads(args.from_json.read_text())
    else:
        measured = measure(args.video, args.methods, args.rounds, args.timeout)
        if args.json:
            args.json.write_text(json.dumps(measured, indent=1))
    check(measured, truth)
    print(report(measured, truth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
