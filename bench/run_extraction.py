"""Benchmark slide-transition detection on the synthetic bench videos, side by side.

    python bench/make_videos.py                  # once: renders bench/videos/*.mp4 + truth
    python bench/run_extraction.py               # all videos, all methods, Markdown to stdout
    python bench/run_extraction.py --videos long20 --repeat 3 --write-docs

Every (video, method) run is its own process (bench/methods.py), so peak RSS is per method.
Runs are interleaved (each repeat runs every method on a video back to back), and speed is the
median over the repeats: video seconds / wall seconds ("x real time").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scoring import score  # noqa: E402

VIDEO_DIR = HERE / "videos"
DOCS = HERE.parent / "docs" / "benchmarks.md"
METHODS = ("ours", "decode", "decode1", "pyscenedetect", "ffmpeg")
LONG = 600.0  # videos at least this long get --repeat runs, shorter ones --repeat-short
MARK_START, MARK_END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


def run_method(method: str, video: Path, timeout: float) -> dict:
    command = [sys.executable, str(HERE / "methods.py"), method, str(video)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {last}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(videos: list[Path], methods: list[str], repeat: int, repeat_short: int,
            timeout: float) -> dict:
    """{(video name, method): [run results]}, runs interleaved across methods."""
    truths = {v.stem: json.loads(Path(str(v) + ".truth.json").read_text()) for v in videos}
    runs: dict[tuple[str, str], list[dict]] = {}
    rounds = max(repeat, repeat_short)
    for r in range(rounds):
        for video in videos:
            wanted = repeat if truths[video.stem]["duration"] >= LONG else repeat_short
            if r >= wanted:
                continue
            for method in methods:
                result = run_method(method, video, timeout)
                runs.setdefault((video.stem, method), []).append(result)
                print(f"[{r + 1}/{wanted}] {video.stem:10s} {method:14s} {_brief(result)}",
                      file=sys.stderr, flush=True)
    return {"truths": truths, "runs": runs}


def _brief(result: dict) -> str:
    if "seconds" in result:
        return f"{result['seconds']:.1f} s, {result['peak_rss_mb']:.0f} MB"
    return result.get("skipped") or result.get("error", "?")


def summarise(truth: dict, method: str, results: list[dict]) -> dict:
    ok = [r for r in results if "seconds" in r]
    if not ok:
        return {"method": method, "note": _brief(results[0])}
    seconds = statistics.median(r["seconds"] for r in ok)
    row = {"method": method, "seconds": seconds, "speed": truth["duration"] / seconds,
           "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in ok), "runs": len(ok),
           "cpu_seconds": statistics.median(r.get("cpu_seconds", float("nan")) for r in ok)}
    last = ok[-1]  # the same as the others unless the code changed during the run
    if last.get("transitions") is not None:
        row.update(score(truth, last["transitions"], last.get("same_as"),
                         keep_builds=method == "ours-builds"))
        row["stable"] = all(r["transitions"] == last["transitions"] for r in ok)
    return row


def table(measured: dict) -> tuple[str, list[str]]:
    """The Markdown results table, and per-video notes on our engine's misses and extras."""
    lines = ["| video | method | P | R | F1 | extra | missed slides | 2-s slides | returns "
             "| x real time | vs full decode | wall s | CPU s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for name, truth in measured["truths"].items():
        rows = {m: summarise(truth, m, rs) for (v, m), rs in measured["runs"].items() if v == name}
        decode_s = rows.get("decode", {}).get("seconds")
        for method, row in rows.items():
            lines.append(_line(name, row, decode_s))
            if method.startswith("ours") and "f1" in row and (row["extra"] or row["missed_transitions"]):
                notes.append(f"- {name} ({method}): missed transitions at {row['missed_transitions']}, "
                             f"extra at {row['extra']}, missed slides {row['missed_slides']}")
            if row.get("stable") is False:
                notes.append(f"- {name} ({method}): transitions differed between repeats; scored the last")
        notes += _speed_summary(name, truth, rows)
    return "\n".join(lines), notes


def _speed_summary(name: str, truth: dict, rows: dict) -> list[str]:
    ours = rows.get("ours", {}).get("seconds")
    if not ours or truth["duration"] < LONG:
        return []
    others = [f"{rows[m]['seconds'] / ours:.2f}x faster than {m}" for m in ("decode", "decode1", "pyscenedetect", "ffmpeg")
              if rows.get(m, {}).get("seconds")]
    cpu = [f"{rows[m]['cpu_seconds'] / rows['ours']['cpu_seconds']:.2f}x less CPU than {m}"
           for m in ("decode", "pyscenedetect") if rows.get(m, {}).get("cpu_seconds")]
    return [f"- {name}: ours {truth['duration'] / ours:.0f}x real time, " + ", ".join(others + cpu)
            + f" (medians of {rows['ours']['runs']} runs)"]


def video_table(truths: dict) -> str:
    """What each bench video holds, from its truth (so the table cannot drift from the files)."""
    lines = ["| video | size | fps | GOP s | length | transitions | fades | build steps | 2-s slides "
             "| returns | overlays |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, truth in truths.items():
        spec = truth["spec"]
        fades = sum(s["transition"] == "fade" for s in spec["slides"][1:])
        short = sum(a["end"] - a["start"] <= 2.5 for a in truth["appearances"])
        returns = sum(bool(a["same_as_appearance"]) for a in truth["appearances"])
        overlays = [k if v is True else f"{k} {v:g}" for k, v in spec.items()
                    if k in ("webcam", "pointer", "noise", "flicker", "letterbox", "camera") and v]
        lines.append(f"| {name} | {truth['width']}x{truth['height']} | {truth['fps']:g} | "
                     f"{spec['gop_seconds']:g} | {truth['duration'] / 60:.1f} min | "
                     f"{len(truth['transitions'])} | {fades} | {len(truth['build_transitions'])} | "
                     f"{short} | {returns} | {', '.join(overlays) or '-'} |")
    return "\n".join(lines)


def _line(name: str, row: dict, decode_s: float | None) -> str:
    if "seconds" not in row:
        return f"| {name} | {row['method']} | {row['note']} |" + " |" * 12
    cells = [name, row["method"]]
    if "f1" in row:
        short, total = row["short_found"]
        found, returns = row.get("returns_found", (0, 0))
        returns = f"{found}/{returns}" if returns else "-"
        cells += [f"{row['precision']:.2f}", f"{row['recall']:.2f}", f"**{row['f1']:.3f}**",
                  str(len(row["extra"])), str(len(row["missed_slides"])), f"{short}/{total}" if total else "-", returns]
    else:
        cells += ["-"] * 7
    ratio = f"{decode_s / row['seconds']:.2f}x" if decode_s else "-"
    cells += [f"{row['speed']:.0f}x", ratio, f"{row['seconds']:.1f}", f"{row['cpu_seconds']:.1f}",
              f"{row['peak_rss_mb']:.0f}"]
    return "| " + " | ".join(cells) + " |"


def write_docs(markdown: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else f"# Benchmarks\n\n{MARK_START}\n{MARK_END}\n"
    if MARK_START not in text:
        text += f"\n{MARK_START}\n{MARK_END}\n"
    head, rest = text.split(MARK_START, 1)
    tail = rest.split(MARK_END, 1)[1]
    DOCS.write_text(f"{head}{MARK_START}\n{markdown}\n{MARK_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", help="names in bench/videos (default: all there)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS),
                        choices=["ours", "ours-builds", "decode", "decode1", "pyscenedetect", "ffmpeg"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per method on videos >= 10 min")
    parser.add_argument("--repeat-short", type=int, default=1, help="runs per method on shorter videos")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--dir", type=Path, default=VIDEO_DIR)
    parser.add_argument("--json", type=Path, help="also save raw runs and scores here")
    parser.add_argument("--write-docs", action="store_true", help=f"replace the results in {DOCS.name}")
    parser.add_argument("--from-json", type=Path, help="re-score runs saved with --json instead of running")
    args = parser.parse_args(argv)
    if args.from_json:
        measured = load_runs(args.from_json, args.dir)
        return report(measured, args)
    names = args.videos or sorted(p.name[:-len(".mp4.truth.json")] for p in args.dir.glob("*.mp4.truth.json"))
    videos = [args.dir / f"{n}.mp4" for n in names]
    missing = [str(v) for v in videos if not v.exists()]
    if missing or not videos:
        print(f"missing videos: {missing or 'none found'}; run python bench/make_videos.py", file=sys.stderr)
        return 2
    measured = measure(videos, args.methods, args.repeat, args.repeat_short, args.timeout)
    if args.json:
        args.json.write_text(json.dumps({"runs": {f"{v}/{m}": r for (v, m), r in measured["runs"].items()}},
                                        indent=1))
    return report(measured, args)


def load_runs(path: Path, video_dir: Path) -> dict:
    runs = {tuple(key.split("/")): value for key, value in json.loads(path.read_text())["runs"].items()}
    names = list(dict.fromkeys(v for v, _ in runs))
    truths = {n: json.loads((video_dir / f"{n}.mp4.truth.json").read_text()) for n in names}
    return {"truths": truths, "runs": runs}


def report(measured: dict, args) -> int:
    markdown, notes = table(measured)
    text = video_table(measured["truths"]) + "\n\n" + markdown
    if notes:
        text += "\n\nNotes (times in seconds):\n\n" + "\n".join(notes)
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
