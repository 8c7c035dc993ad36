#!/usr/bin/env python3
"""Pools the paired rounds of several committed `bench/load/run` results (their .json beside the .md): for each step,
FilterService over a variant (default: `before`) and over Squid, per proxy CPU-second, round by round, and what all
the rounds say together.

    python3 bench/load/pool.py bench/results/load-issue16.json bench/results/load-issue16-run2.json ...
    python3 bench/load/pool.py --variant before --out bench/results/load-issue16-pooled.md FILE...

In a round, FilterService and each other proxy ran one after the other on a fresh start, so a round's ratio is a
paired one: it cancels what the machine did over minutes, not what it did within the round. On a shared two-core
machine single rounds move by a third either way, so one run of four rounds can land anywhere in that band; pooled
rounds narrow it. The summary is the geometric mean of the paired ratios (ratios multiply, so their mean is taken
in logarithms) with a 90% bootstrap interval (10,000 resamples of the rounds, a fixed seed, so the same files give
the same figures), and the median. Only files whose FilterService build is the same proxy code should be pooled:
the runs table names each file's commits, and the reader decides.
"""

import argparse
import json
import math
import os
import random
import statistics
import sys

STEPS = [("plain", "Plain HTTP"), ("blocked", "Blocked"), ("tunnels", "New TLS tunnels"), ("downloads", "100 KB downloads")]
RESAMPLES = 10_000
SEED = 16


def paired(runs, reference, other, getter):
    """[(file, round, ratio)] for every round of every run in which both proxies have a figure."""
    out = []
    for name, run in runs:
        for round_no in sorted({r["round"] for r in run["results"]}):
            a = [getter(r) for r in run["results"] if r["round"] == round_no and r["proxy"] == reference]
            b = [getter(r) for r in run["results"] if r["round"] == round_no and r["proxy"] == other]
            if a and b and a[0] is not None and b[0] is not None and a[0] > 0 and b[0] > 0:
                out.append((name, round_no, a[0] / b[0]))
    return out


def per_cpu(step, key):
    """A round's figure for one step, None where the round has no such step."""
    return lambda r: r[step].get(key) if isinstance(r.get(step), dict) else None


def summary(ratios):
    """(n, geometric mean, (low, high) 90% bootstrap interval of it, median, rounds at or above 0.95, rounds at or
    above 1)."""
    logs = [math.log(x) for x in ratios]
    rng = random.Random(SEED)
    means = sorted(statistics.fmean(rng.choices(logs, k=len(logs))) for _ in range(RESAMPLES))
    low, high = means[int(0.05 * RESAMPLES)], means[int(0.95 * RESAMPLES) - 1]
    return (len(ratios), math.exp(statistics.fmean(logs)), (math.exp(low), math.exp(high)), statistics.median(ratios),
            sum(x >= 0.95 for x in ratios), sum(x >= 1 for x in ratios))


def ratio_rows(runs, reference, other, label_of, key):
    rows = []
    for step, label in STEPS:
        pairs = paired(runs, reference, other, per_cpu(step, key))
        if pairs:
            rows.append((label_of(label), pairs))
    return rows


def table(rows):
    lines = ["| per proxy CPU-second | rounds | geometric mean | 90% interval | median | rounds >= 0.95 | rounds >= 1 | each round, run by run |",
             "|---|---:|---:|---|---:|---:|---:|---|"]
    for label, pairs in rows:
        n, gm, (lo, hi), med, ok95, ok1 = summary([p[2] for p in pairs])
        by_run = {}
        for name, _, x in pairs:
            by_run.setdefault(name, []).append(f"{x:.2f}")
        each = "; ".join(f"{name}: {', '.join(xs)}" for name, xs in by_run.items())
        lines.append(f"| {label} | {n} | {gm:.2f}x | {lo:.2f}-{hi:.2f} | {med:.2f}x | {ok95} | {ok1} | {each} |")
    return lines


def rss_rows(runs, reference, other):
    lines = ["| RSS (MB), FilterService minus the variant | rounds | median | mean | rounds at or below 0 |", "|---|---:|---:|---:|---:|"]
    for key, label in (("rss_load_mb", "right after the load"), ("rss_settled_mb", "12 s after the load")):
        diffs = []
        for _, run in runs:
            for round_no in sorted({r["round"] for r in run["results"]}):
                a = [r.get(key) for r in run["results"] if r["round"] == round_no and r["proxy"] == reference]
                b = [r.get(key) for r in run["results"] if r["round"] == round_no and r["proxy"] == other]
                if a and b and a[0] is not None and b[0] is not None:
                    diffs.append(a[0] - b[0])
        if diffs:
            lines.append(f"| {label} | {len(diffs)} | {statistics.median(diffs):+.1f} | {statistics.fmean(diffs):+.1f} | "
                         f"{sum(d <= 0 for d in diffs)} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="the .json of committed bench/load/run results")
    parser.add_argument("--variant", default="before", help="the variant to compare FilterService with (default before)")
    parser.add_argument("--reference", default="filterservice")
    parser.add_argument("--out", help="also write the report here")
    args = parser.parse_args()

    runs = []
    for path in args.files:
        with open(path) as f:
            runs.append((os.path.splitext(os.path.basename(path))[0], json.load(f)))

    lines = ["# Pooled rounds: " + ", ".join(name for name, _ in runs), "",
             f"`python3 bench/load/pool.py {' '.join(args.files)}`" + (f" `--variant {args.variant}`" if args.variant != "before" else ""), "",
             "| run | FilterService | " + args.variant + " | rounds | warm-up s | step s | pinned |",
             "|---|---|---|---:|---:|---:|---|"]
    for name, run in runs:
        commits = {v["label"]: v.get("commit", "?") for v in run.get("variants", [])}
        a = run["args"]
        lines.append(f"| {name} | {commits.get(args.reference, run['machine'].get('commit', '?'))} | {commits.get(args.variant, '-')} | "
                     f"{a['rounds']} | {a['warmup']} | {a['duration']} | {a.get('proxy_cpus') or 'no'} |")
    lines += ["", f"## FilterService over {args.variant}", "",
              "Above 1, FilterService does more per proxy CPU-second than " + args.variant + " in the same round.", ""]
    lines += table(ratio_rows(runs, args.reference, args.variant, lambda l: l, "per_cpu_s"))
    lines += [""]
    lines += table(ratio_rows(runs, args.reference, args.variant, lambda l: l + " with their decision indexing", "all_in_per_cpu_s"))
    lines += [""] + rss_rows(runs, args.reference, args.variant)
    squid = ratio_rows([(n, r) for n, r in runs if any(x["proxy"] == "squid" for x in r["results"])], args.reference, "squid",
                       lambda l: l, "per_cpu_s")
    if squid:
        lines += ["", "## FilterService over Squid", "", "Above 1, FilterService does more per proxy CPU-second than Squid in the same round.", ""]
        lines += table(squid)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
