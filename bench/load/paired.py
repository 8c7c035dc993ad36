#!/usr/bin/env python3
"""Paired windows: FilterService against Squid (and optionally another FilterService build) in short alternating
windows on proxies that stay up, so that each ratio compares two measurements seconds apart rather than minutes.

    bench/load/run paired [--steps blocked] [--pairs 30] [--window 4] [--warmup 10] [--before DIR] [--out FILE]

Why: `bench/load/run` starts each proxy fresh in every round and measures it for one 10 s step per suite, the proxies
one after the other, so a round's two figures are a minute or more apart, and a round costs each proxy a start. Here
every proxy is started once and warmed, then each round measures every proxy for one short window of the same step,
back to back, in alternating order: more rounds per hour, each proxy past its start-up, and a round's two windows
seconds apart. What that bought on this shared 2-core VM (bench/load/README.md, "Paired windows"): two builds of
FilterService pair better (the ratio of a round spreads by 9-20%, against a third in `run`'s rounds); FilterService
and Squid pair a little better only when both are pinned to the same core (16-17% against 22-24%), since unpinned a
window's figure moves within seconds with where its threads land and what the host does to that core (the guest
reports no steal time).

The figure is the one `bench/load/run` reports: requests completed over the proxy's request-path CPU-seconds (the
whole process tree's utime+stime from /proc, minus FilterService's decision index thread), with the same load
generators, connections, lists and checks. FilterService's decision index is drained after each of its windows (it
runs paced, after the load), so no indexing runs in the next window, whichever proxy's it is. A second FilterService
(--before) listens on its own ports and writes its own audit directory.

The report gives each proxy's median per CPU-second and its spread, and FilterService over each other proxy: the
geometric mean of the rounds' ratios with a 90% bootstrap interval (bench/load/pool.py's), the median, and each
round's ratio. The JSON beside it holds every window.
"""

import argparse
import datetime
import json
import math
import os
import signal
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadbench as lb  # noqa: E402
import pool  # noqa: E402

# A second FilterService (the --before build) beside the first: its own proxy and admin ports and audit directory.
SECOND_PORT, SECOND_ADMIN_PORT = 23129, 29091


class Instance:
    """One running proxy: its variant, the ports it listens on, and its audit directory (FilterService)."""

    def __init__(self, variant, port, admin_port, audit):
        self.variant, self.port, self.admin_port, self.audit = variant, port, admin_port, audit
        self.started = None

    @property
    def label(self):
        return self.variant.label

    def start(self, run, timeout, cpus):
        """Starts it as `run` starts a proxy (an empty audit directory, the first answer waited for); seconds to it."""
        self.started, startup = lb.start_proxy(self.variant, run, timeout, cpus=cpus, port=self.port,
                                               admin_port=self.admin_port, audit=self.audit)
        return startup


def window(instance, go, args, raw):
    """One measured window of one step: the load generator's result with the proxy's CPU over it. FilterService's
    decision index is then drained, outside the window, so that none of this window's indexing runs in the next."""
    pid = instance.started.pid
    index_before = lb.index_ticks(pid)
    before = lb.cpu_seconds(pid)
    result = go(args, raw)
    result["cpu_s"] = lb.cpu_seconds(pid) - before
    index_in_step = 0.0
    if index_before is not None:
        index_in_step = (lb.index_ticks(pid) - index_before) / lb.CLK_TCK
        result["index_drain_s"] = lb.drain_index(pid, quiet=2.5)
    lb.charge(result, index_in_step)
    return result


def spread(values):
    """The geometric standard deviation's excess as a percentage: about the typical distance of one value from the
    geometric mean."""
    logs = [math.log(v) for v in values if v > 0]
    return 100 * (math.exp(statistics.stdev(logs)) - 1) if len(logs) > 1 else float("nan")


def report(saved):
    """The report's lines from what main() saves (the JSON beside it): `paired.py --from FILE.json` prints it again."""
    args, machine, results = argparse.Namespace(**saved["args"]), saved["machine"], saved["results"]
    labels = [v["label"] for v in saved["variants"]]
    names = {v["label"]: v["name"] for v in saved["variants"]}
    pinning = "".join(f"; {what} under taskset -c {cpus}" for what, cpus in (("proxies", args.proxy_cpus), ("load generators and nginx", args.load_cpus)) if cpus)
    lines = ["# Paired windows: " + ", ".join(names[label] for label in labels), "",
             f"`{saved['command']}` on {saved['started_utc']} UTC, commit {machine['commit']}: {args.pairs} rounds of "
             f"{args.window} s windows per step, each proxy once per round in alternating order, on proxies started once "
             f"and warmed for {args.warmup} s per step; {args.connections} connections{pinning}. Load average {saved['loads'][0]} "
             f"before, {saved['loads'][1]} after. Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, "
             f"{machine['os']}, kernel {machine['kernel']}; {machine['squid']}; .NET SDK {machine['dotnet']}.", ""]
    for v in saved["variants"]:
        if v.get("describe"):
            lines.append(f"**{v['label']}**: {v['describe']}.")
    lines += ["", "| step | proxy | requests/s, median | per proxy CPU-second, median | spread of its windows |",
              "|---|---|---:|---:|---:|"]
    for step in args.steps:
        for label in labels:
            rows = [r[step][label] for r in results]
            lines.append(f"| {step} | {names[label]} | {statistics.median(x['rate'] for x in rows):,.0f} | "
                         f"{statistics.median(x['per_cpu_s'] for x in rows):,.0f} | {spread([x['per_cpu_s'] for x in rows]):.0f}% |")
    lines += ["", "FilterService over each other proxy, per proxy CPU-second, round by round (the two windows of a round are "
              "seconds apart). Above 1, FilterService does more. *Two at a time* pools each pair of rounds (AB then BA) before "
              "the ratio, which cancels a drift that is linear over the pair.", "",
              "| step | over | rounds | geometric mean | 90% interval | median | spread of the rounds' ratios | rounds >= 1 | "
              "rounds >= 2 | two at a time: mean, 90% interval | each round |",
              "|---|---|---:|---:|---|---:|---:|---:|---:|---|---|"]
    for step in args.steps:
        for other in (label for label in labels if label != "filterservice"):
            each = ratios(saved, step, other)
            n, gm, (lo, hi), med, _, ok1 = pool.summary(each)
            doubled = two_at_a_time(saved, step, other)
            _, gm2, (lo2, hi2), _, _, _ = pool.summary(doubled) if doubled else (0, 0, (0, 0), 0, 0, 0)
            lines.append(f"| {step} | {names[other]} | {n} | {gm:.2f}x | {lo:.2f}-{hi:.2f} | {med:.2f}x | {spread(each):.0f}% | "
                         f"{ok1} | {sum(x >= 2 for x in each)} | {f'{gm2:.2f}x, {lo2:.2f}-{hi2:.2f}' if doubled else '-'} | "
                         f"{', '.join(f'{x:.2f}' for x in each)} |")
    lines += ["", "Every window, per proxy CPU-second:", "",
              "| round | step | " + " | ".join(names[label] for label in labels) + " |", "|---:|---|" + "---:|" * len(labels)]
    for n, r in enumerate(results, 1):
        for step in args.steps:
            lines.append(f"| {n} | {step} | " + " | ".join(f"{r[step][label]['per_cpu_s']:,.0f}" for label in labels) + " |")
    return lines


def two_at_a_time(saved, step, other):
    """FilterService over other in each pair of rounds (1 and 2, 3 and 4, ...: AB then BA), each proxy's requests and
    CPU-seconds summed over the pair first."""
    rounds = saved["results"]
    out = []
    for a, b in zip(rounds[0::2], rounds[1::2]):
        figure = lambda label: (a[step][label]["completed"] + b[step][label]["completed"]) / (
            a[step][label]["path_cpu_s"] + b[step][label]["path_cpu_s"])
        out.append(figure("filterservice") / figure(other))
    return out


def ratios(saved, step, other):
    """FilterService over other, per proxy CPU-second, in each round of a saved run that measured both in step."""
    return [r[step]["filterservice"]["per_cpu_s"] / r[step][other]["per_cpu_s"] for r in saved["results"]
            if step in r and "filterservice" in r[step] and other in r[step]]


def pooled(runs):
    """The rounds of several saved runs together, per step and proxy compared with: [(name, saved)] -> report lines."""
    lines = ["## Pooled: " + ", ".join(name for name, _ in runs), "",
             "| step | over | rounds | geometric mean | 90% interval | median | rounds >= 1 | rounds >= 2 |", "|---|---|---:|---:|---|---:|---:|---:|"]
    pairs = []
    for _, saved in runs:
        names = {v["label"]: v["name"] for v in saved["variants"]}
        for step in saved["args"]["steps"]:
            pairs += [(step, other, names[other]) for other in names if other != "filterservice"]
    for step, other, name in dict.fromkeys(pairs):
        each = [x for _, saved in runs for x in ratios(saved, step, other)]
        n, gm, (lo, hi), med, _, ok1 = pool.summary(each)
        lines.append(f"| {step} | {name} | {n} | {gm:.2f}x | {lo:.2f}-{hi:.2f} | {med:.2f}x | {ok1} | {sum(x >= 2 for x in each)} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="blocked", help=f"comma-separated, of {', '.join(lb.load_steps('squid', '/'))}")
    parser.add_argument("--pairs", type=int, default=30, help="rounds: each proxy measured once per round (default 30)")
    parser.add_argument("--window", type=int, default=4, help="seconds per measured window (default 4)")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of warm-up per step after the start (default 10)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--before", metavar="DIR", help="also another checkout's Release build, as the variant before")
    parser.add_argument("--no-squid", action="store_true", help="FilterService and --before only")
    parser.add_argument("--proxy-cpus", metavar="LIST", help="run every proxy under taskset -c LIST")
    parser.add_argument("--load-cpus", metavar="LIST", help="run the load generators and nginx under taskset -c LIST")
    parser.add_argument("--run-dir", default="/tmp/filterservice-loadbench")
    parser.add_argument("--bench-data", default=os.environ.get("BENCH_DATA", os.path.join(lb.REPO, "..", "shared/data/bench")))
    parser.add_argument("--inspect-hosts", type=int, default=500, help=argparse.SUPPRESS)
    parser.add_argument("--out", help="the report (and .json beside it); default RUN/paired.md")
    parser.add_argument("--from", dest="saved", metavar="JSON", nargs="+",
                        help="print the reports of earlier runs' JSON files and, for more than one, their rounds pooled; run nothing")
    args = parser.parse_args()
    if args.saved:
        runs = []
        for path in args.saved:
            with open(path) as f:
                runs.append((os.path.splitext(os.path.basename(path))[0], json.load(f)))
        print("\n\n".join("\n".join(report(saved)) for _, saved in runs))
        if len(runs) > 1:
            print("\n" + "\n".join(pooled(runs)))
        return
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    known = lb.load_steps("squid", "/")
    if not args.steps or any(s not in known for s in args.steps):
        parser.error(f"--steps: choose from {', '.join(known)}")
    if args.no_squid and not args.before:
        parser.error("--no-squid needs --before: there must be two proxies")
    run = os.path.abspath(args.run_dir)
    args.out = args.out or os.path.join(run, "paired.md")

    variants = ([] if args.no_squid else [lb.parse_variant("squid")]) + [lb.parse_variant("filterservice")]
    if args.before:
        variants.append(lb.parse_variant(f"filterservice:before@{args.before}"))
    instances = []
    for v in variants:
        second = v.label == "before"
        instances.append(Instance(v, SECOND_PORT if second else v.port, SECOND_ADMIN_PORT if second else lb.ADMIN_PORT,
                                  os.path.join(run, "logs", v.label) if second else lb.audit_path(run)))

    os.makedirs(os.path.join(run, "pids"), exist_ok=True)
    stale = os.listdir(os.path.join(run, "pids"))
    if stale:
        sys.exit(f"{run}/pids holds {stale}: a previous run did not stop cleanly; check those processes")
    started_utc = datetime.datetime.now(datetime.timezone.utc)
    command = "bench/load/run paired " + " ".join(sys.argv[1:])
    loads = [os.getloadavg()]
    lb.log(f"preparing {run}")
    _, blocked_host = lb.prepare(args, run)
    nginx = lb.start_nginx(run, args.load_cpus)
    results = []
    try:
        steps = {}
        for i in instances:
            startup = i.start(run, 180, args.proxy_cpus)
            lb.log(f"{i.label}: answering after {startup:.2f} s")
            lb.check_same_work(i.variant.kind, blocked_host, i.port)
            steps[i.label] = lb.load_steps(i.variant.kind, run, i.port)
        warm = argparse.Namespace(connections=args.connections, duration=args.warmup, load_cpus=args.load_cpus)
        for i in instances:
            for step in args.steps:
                steps[i.label][step](warm, os.path.join(run, "raw", f"paired-warmup-{i.label}-{step}.txt"))
            if lb.index_ticks(i.started.pid) is not None:
                lb.drain_index(i.started.pid)
        measure = argparse.Namespace(connections=args.connections, duration=args.window, load_cpus=args.load_cpus)
        for n in range(args.pairs):
            order = instances if n % 2 == 0 else list(reversed(instances))
            results.append({})
            for step in args.steps:
                results[-1][step] = {}
                for i in order:
                    raw = os.path.join(run, "raw", f"paired-{n}-{i.label}-{step}.txt")
                    r = window(i, steps[i.label][step], measure, raw)
                    problems = lb.check_result({step: r})
                    if problems:
                        sys.exit(f"round {n + 1}, {i.label}: " + "; ".join(problems))
                    results[-1][step][i.label] = r
                figures = ", ".join(f"{label} {r['per_cpu_s']:,.0f}" for label, r in results[-1][step].items())
                lb.log(f"round {n + 1}/{args.pairs}: {step} per CPU-s: {figures}")
    finally:
        for i in instances:
            if i.started:
                i.started.stop()
        nginx.stop(signal.SIGQUIT)
    loads.append(os.getloadavg())
    saved = {"command": command, "started_utc": f"{started_utc:%Y-%m-%d %H:%M}", "args": vars(args),
             "loads": [" ".join(f"{x:.2f}" for x in l) for l in loads], "machine": lb.machine_description(),
             "variants": [{"label": i.label, "name": i.variant.name, "commit": lb.git_commit(i.variant.repo),
                           "describe": i.variant.describe() if i.label != i.variant.kind else ""} for i in instances],
             "results": results}
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:  # first: the windows are kept whatever the report does
        json.dump(saved, f, indent=1)
    lines = report(saved)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    lb.log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
