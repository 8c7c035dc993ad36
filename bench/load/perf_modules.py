#!/usr/bin/env python3
"""Sums one thread's perf samples by where they fall: the kernel, each native library, and JIT-compiled code by
assembly and the first two parts of its namespace (so our own code shows as FilterService.Proxy, PolicyModel.Decisions
and so on). Reads a profile written by `bench/load/profile.py ... --perf FILE`:

    python3 bench/load/perf_modules.py /tmp/blocked.data --comm ".NET Sockets"

The shares are of the thread's samples; perf must have the proxy's /tmp/perf-PID.map (profile.py makes the runtime
write it) to name JIT-compiled methods.
"""

import argparse
import collections
import re
import subprocess

LINE = re.compile(r"\s*([\d.]+)%\s+(\[JIT\] tid \d+|\S+)\s+\[(.)\]\s+(.*)")
MANAGED = re.compile(r"\[([A-Za-z][A-Za-z0-9.]*)\] ([A-Za-z0-9_.]+)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="the perf.data file")
    parser.add_argument("--comm", default=".NET Sockets", help="the thread name (default: the socket threads)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    report = subprocess.run(["perf", "report", "-i", args.data, "--no-children", "--comm", args.comm, "--sort", "dso,sym",
                             "--stdio", "-g", "none"], capture_output=True, text=True, check=True).stdout
    shares = collections.Counter()
    for line in report.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        percent, dso, kind, symbol = float(m.group(1)), m.group(2), m.group(3), m.group(4)
        if kind == "k":
            key = "kernel"
        elif dso.startswith("[JIT]"):
            managed = MANAGED.search(symbol)
            key = "jit " + (managed.group(1) + " " + ".".join(managed.group(2).split(".")[:2]) if managed else "stubs and other")
        else:
            key = dso
        shares[key] += percent
    total = sum(shares.values())
    if total == 0:
        raise SystemExit(f"{args.data}: no samples on threads named {args.comm!r}")
    print(f"{args.comm}: {total:.1f}% of all samples")
    for key, percent in shares.most_common(args.top):
        print(f"{100 * percent / total:5.1f}%  {key}")


if __name__ == "__main__":
    main()
