"""Score slide detection on the realism bench, per video, for dev and held-out.

    python bench/real/run.py --dir bench/real/videos                 # dev and heldout found there
    python bench/real/run.py --dir bench/real/videos --splits dev --methods ours
    python bench/real/run.py --from-json runs.json                      # re-score saved runs

Every (video, method) run is its own process (bench/methods.py). Scores are bench/scoring.py's:
transitions matched one-to-one within 1 s; builds are not transitions at default settings.
Each row's counts are checked to add up (matched + missed = true changes, matched + extra =
found changes, appearances = changes + 1) before anything is printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from run_extraction import run_method  # noqa: E402
from scoring import score  # noqa: E402
from timeline import as_seen  # noqa: E402

TARGET = {"f1": 0.97, "extra": 1, "returns": 0.95}


def videos(folder: Path, splits: list[str], names: list[str] | None) -> list[tuple[str, Path]]:
    found = [(split, p.with_name(p.name[:-len(".truth.json")])) for split in splits
             for p in sorted((folder / split).glob("*.mp4.truth.json"))]
    return [(s, v) for s, v in found if not names or v.stem in names]


def checked_score(truth: dict, result: dict) -> dict:
    """bench/scoring.py's score, after checking that its counts and the truth's add up."""
    expected, found = truth["transitions"], result["transitions"]
    row = score(truth, found, result.get("same_as"))
    matched = round(row["recall"] * len(expected))
    assert matched + len(row["missed_transitions"]) == len(expected), "matched + missed != true changes"
    assert matched + len(row["extra"]) == len(found), "matched + extra != found changes"
    assert len(truth["appearances"]) == len(expected) + 1, "appearances != changes + 1"
    returns = sum(bool(a["same_as_appearance"]) for a in truth["appearances"])
    assert row.get("returns_found", (0, returns))[1] == returns, "returns scored != returns in truth"
    assert row["short_found"][1] == sum(a["end"] - a["start"] <= 2.5 for a in truth["appearances"])
    row["matched"], row["found"] = matched, len(found)
    return row


def measure(items: list[tuple[str, Path]], methods: list[str], timeout: float) -> dict:
    runs = {}
    for split, video in items:
        for method in methods:
            runs[f"{split}/{video.stem}/{method}"] = result = run_method(method, video, timeout)
            brief = f"{result['seconds']:.1f} s" if "seconds" in result else result.get("error", result.get("skipped"))
            print(f"{split}/{video.stem:24s} {method:8s} {brief}", file=sys.stderr, flush=True)
    return runs


def table(runs: dict, truths: dict) -> str:
    lines = ["| split | video | size@fps, GOP | length | changes (fades/wipes/pushes) | builds | 2-s | returns "
             "| method | P | R | F1 | extra | missed slides | 2-s found | returns linked | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, result in runs.items():
        split, name, method = key.split("/")
        truth = truths[(split, name)]
        kinds = [c["kind"] for c in truth["changes"] if not c["build"]]
        shorts = sum(a["end"] - a["start"] <= 2.5 for a in truth["appearances"])
        returns = sum(bool(a["same_as_appearance"]) for a in truth["appearances"])
        cells = [split, name, f"{truth['width']}x{truth['height']}@{truth['fps']:g}, {truth['spec']['gop']:g} s",
                 f"{truth['duration']:.0f} s",
                 f"{len(truth['transitions'])} ({kinds.count('fade')}/{kinds.count('wipe')}/{kinds.count('push')})",
                 str(len(truth["build_transitions"])), str(shorts), str(returns), method]
        if "transitions" not in result or result["transitions"] is None:
            cells += [result.get("error") or result.get("skipped", "?")] + [""] * 7
        else:
            row = checked_score(truth, result)
            linked = row.get("returns_found")
            cells += [f"{row['precision']:.2f}", f"{row['recall']:.2f}", f"**{row['f1']:.3f}**", str(len(row["extra"])),
                      str(len(row["missed_slides"])), "{}/{}".format(*row["short_found"]),
                      "{}/{}".format(*linked) if linked else "-", f"{result['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(runs: dict, truths: dict) -> list[str]:
    """Per split and method: mean and worst F1, and how many videos meet the issue's targets."""
    groups: dict[tuple[str, str], list[tuple[str, dict]]] = {}
    for key, result in runs.items():
        split, name, method = key.split("/")
        if result.get("transitions") is not None:
            groups.setdefault((split, method), []).append((name, checked_score(truths[(split, name)], result)))
    lines = []
    for (split, method), rows in groups.items():
        f1 = [r["f1"] for _, r in rows]
        ok = [n for n, r in rows if _meets(r)]
        worst = min(rows, key=lambda nr: nr[1]["f1"])
        lines.append(f"- {split}, {method}: mean F1 {statistics.mean(f1):.3f}, worst {worst[1]['f1']:.3f} "
                     f"({worst[0]}); {len(ok)} of {len(rows)} videos meet every target")
    return lines


def _meets(row: dict) -> bool:
    linked, returns = row.get("returns_found", (0, 0))
    short_found, shorts = row["short_found"]
    return (row["f1"] >= TARGET["f1"] and len(row["extra"]) <= TARGET["extra"] and short_found == shorts
            and (not returns or linked / returns >= TARGET["returns"]))


def misses(runs: dict, truths: dict) -> list[str]:
    notes = []
    for key, result in runs.items():
        split, name, method = key.split("/")
        if method == "ours" and result.get("transitions") is not None:
            row = checked_score(truths[(split, name)], result)
            if row["missed_transitions"] or row["extra"]:
                notes.append(f"- {split}/{name}: missed {row['missed_transitions']}, extra {row['extra']}")
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=HERE / "videos", help="folder holding dev/ and heldout/")
    parser.add_argument("--splits", nargs="+", default=["dev", "heldout"])
    parser.add_argument("--videos", nargs="+", help="only these names")
    parser.add_argument("--methods", nargs="+", default=["ours", "ffmpeg"],
                        help="ours, ffmpeg (scene > 0.4), ffmpeg@T (scene > T), pyscenedetect")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json", type=Path, help="save the raw runs here")
    parser.add_argument("--from-json", type=Path, help="re-score runs saved with --json")
    parser.add_argument("--count-unseen", action="store_true", help="score every page change, also one "
                        "between two pages that look the same (bench/real/timeline.py as_seen)")
    args = parser.parse_args(argv)
    items = videos(args.dir, args.splits, args.videos)
    if not items:
        print(f"no videos under {args.dir}/{{{','.join(args.splits)}}}; run bench/real/make_videos.py", file=sys.stderr)
        return 2
    truths = {(s, v.stem): json.loads(Path(str(v) + ".truth.json").read_text()) for s, v in items}
    if not args.count_unseen:
        truths = {key: as_seen(t) for key, t in truths.items()}
        for (split, name), t in truths.items():
            if t.get("unseen_changes"):
                print(f"{split}/{name}: not scored, changes no pixel shows: {t['unseen_changes']}", file=sys.stderr)
    if args.from_json:
        runs = {k: v for k, v in json.loads(args.from_json.read_text()).items() if tuple(k.split("/")[:2]) in truths}
    else:
        runs = measure(items, args.methods, args.timeout)
        if args.json:
            args.json.write_text(json.dumps(runs, indent=1))
    print(table(runs, truths))
    print("\n" + "\n".join(summary(runs, truths)))
    notes = misses(runs, truths)
    if notes:
        print("\nOur engine's misses and extras (seconds):\n\n" + "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
