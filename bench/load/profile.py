#!/usr/bin/env python3
"""One proxy, one load step, looked at closely: user and system CPU microseconds per operation, context switches
per operation, RSS, and optionally a `perf record` of the proxy during the step.

    python3 bench/load/profile.py filterservice plain [--seconds 8] [--perf /tmp/plain.data]
    python3 bench/load/profile.py squid tunnels

Run bench/load/run once first: it installs the servers, builds the binaries and prepares the run directory this
script reuses. Environment variables are passed to the proxy, so a runtime knob can be tried without a rebuild
(`DOTNET_gcServer=1 python3 bench/load/profile.py filterservice plain`). With --perf the .NET proxy writes
/tmp/perf-PID.map so perf can name JIT-compiled methods:
    perf report -i /tmp/plain.data --no-children --sort sym --stdio -g none
"""

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadbench as lb  # noqa: E402


def times(root):
    user = system = 0
    for pid in lb.process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        user += int(fields[11]) + int(fields[13])
        system += int(fields[12]) + int(fields[14])
    return user / lb.CLK_TCK, system / lb.CLK_TCK


def switches(root):
    voluntary = involuntary = 0
    for pid in lb.process_tree(root):
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches"):
                            voluntary += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches"):
                            involuntary += int(line.split()[1])
        except FileNotFoundError:
            continue
    return voluntary, involuntary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("proxy", choices=sorted(lb.PORTS))
    parser.add_argument("step", choices=["plain", "blocked", "tunnels", "downloads"])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--perf", help="write a perf profile of the proxy during the step to this file")
    parser.add_argument("--run-dir", default="/tmp/filterservice-loadbench")
    args = parser.parse_args()

    run = os.path.abspath(args.run_dir)
    if not os.path.exists(os.path.join(run, "nginx.conf")):
        sys.exit(f"{run} is not prepared: run bench/load/run once first")
    if args.perf:
        os.environ["DOTNET_PerfMapEnabled"] = "1"
        os.environ["DOTNET_EnableWriteXorExecute"] = "0"  # lets perf resolve JIT-compiled code

    subprocess.run(["nginx", "-c", os.path.join(run, "nginx.conf")], check=True, timeout=30)
    time.sleep(0.5)
    with open(os.path.join(run, "nginx.pid")) as f:
        nginx = lb.Started(run, "nginx", int(f.read().strip()))
    proxy = None
    try:
        proxy, startup = lb.start_proxy(args.proxy, run, 180)
        raw = os.path.join(run, "raw", f"profile-{args.proxy}-{args.step}.txt")
        env_plain = {"TARGET": f"http://{lb.PLAIN_HOST}:{lb.HTTP_PORT}/1k"}
        env_blocked = {"BLOCKED": os.path.join(run, "blocked-sample.txt")}
        steps = {
            "plain": lambda a: lb.run_wrk(args.proxy, "plain.lua", env_plain, a, raw),
            "blocked": lambda a: lb.run_wrk(args.proxy, "blocked.lua", env_blocked, a, raw),
            "tunnels": lambda a: lb.run_load_client(args.proxy, "handshakes", "/1k", a, raw),
            "downloads": lambda a: lb.run_load_client(args.proxy, "downloads", "/100k", a, raw),
        }
        warm = argparse.Namespace(connections=args.connections, duration=args.warmup)
        for go in steps.values():
            go(warm)
        perf = None
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(proxy.pid), "-o", args.perf,
                                     "--", "sleep", str(args.seconds)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (u0, s0), c0 = times(proxy.pid), switches(proxy.pid)
        result = steps[args.step](argparse.Namespace(connections=args.connections, duration=args.seconds))
        (u1, s1), c1 = times(proxy.pid), switches(proxy.pid)
        if perf:
            perf.wait(timeout=args.seconds + 30)
        n = result["completed"]
        cpu = (u1 - u0) + (s1 - s0)
        print(f"{args.proxy} {args.step}: {result['rate']:,.0f}/s, p99 {result['p99_ms']:.2f} ms, "
              f"{n / cpu:,.0f} per CPU-s: user {1e6 * (u1 - u0) / n:.1f} us + system {1e6 * (s1 - s0) / n:.1f} us "
              f"per operation; context switches per operation {(c1[0] - c0[0]) / n:.2f} voluntary, "
              f"{(c1[1] - c0[1]) / n:.2f} involuntary; RSS {lb.rss_mb(proxy.pid):.0f} MB")
    finally:
        if proxy:
            proxy.stop()
        nginx.stop(signal.SIGQUIT)


if __name__ == "__main__":
    main()
