#!/usr/bin/env python3
"""One proxy, one load step, looked at closely: user and system CPU microseconds per operation, context switches
per operation, RSS, the CPU the load generator and the origin used per operation (they share the cores), finer
latency percentiles for the plain step, and optionally a `perf record` of the proxy during the step.

    python3 bench/load/profile.py filterservice plain [--seconds 8] [--perf /tmp/plain.data]
    python3 bench/load/profile.py filterservice blocked --seconds 12 --alloc /tmp/blocked.nettrace
    python3 bench/load/profile.py filterservice blocked --seconds 12 --jit /tmp/jit.nettrace   # what still compiles
    python3 bench/load/profile.py squid tunnels --repeat 3
    python3 bench/load/profile.py filterservice plain --start-timeline 14   # memory from the first answer, no load
    python3 bench/load/profile.py filterservice:lean-off=Proxy__LeanHttp=false plain --proxy-cpus 0 --threads

Run bench/load/run once first: it installs the servers, builds the binaries and prepares the run directory this
script reuses. Environment variables are passed to the proxy, so a runtime knob can be tried without a rebuild
(`DOTNET_gcServer=1 python3 bench/load/profile.py filterservice plain`). With --perf the .NET proxy writes
/tmp/perf-PID.map so perf can name JIT-compiled methods:
    perf report -i /tmp/plain.data --no-children --sort sym --stdio -g none
"""

import argparse
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadbench as lb  # noqa: E402


def switches(table):
    """(voluntary, involuntary) context switches of the whole process tree, from a by_thread() table."""
    return sum(row[0] for row in table.values()), sum(row[1] for row in table.values())


def smaps(root, top=25):
    """Resident kB per mapping name (anonymous mappings as [anon]) across the process tree, largest first."""
    per = {}
    for pid in lb.process_tree(root):
        name = None
        try:
            with open(f"/proc/{pid}/smaps") as f:
                for line in f:
                    parts = line.split()
                    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                        name = parts[5] if len(parts) > 5 else "[anon]"
                    elif parts and parts[0] == "Rss:":
                        per[name] = per.get(name, 0) + int(parts[1])
        except FileNotFoundError:
            continue
    return sorted(per.items(), key=lambda kv: -kv[1])[:top]  # top=None: all


def gc_figures(proxy):
    """FilterService only: (bytes allocated, collections, seconds paused, methods JIT-compiled, seconds compiling) from its
    own /metrics; None for Squid."""
    if proxy != "filterservice":
        return None
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{lb.ADMIN_PORT}/metrics", timeout=10).read().decode()
    total = lambda name: sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(name))
    return (total("dotnet_gc_heap_total_allocated_bytes_total"), total("dotnet_gc_collections_total"),
            total("dotnet_gc_pause_time_seconds_total"), total("dotnet_jit_compiled_methods_total"),
            total("dotnet_jit_compilation_time_seconds_total"))


def children_cpu_seconds():
    """User and system CPU of this script's finished children: the load generator (wrk or LoadClient) of each step."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def by_thread(root):
    """Per thread name (threads of one name summed): [voluntary switches, involuntary switches, CPU ticks,
    nanoseconds spent runnable but waiting for a CPU (schedstat's run_delay)]."""
    table = {}
    for pid, tid in lb.threads(root):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run_delay = int(f.read().split()[1])
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        row = table.setdefault(name, [0, 0, 0, 0])
        row[0] += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        row[1] += int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        row[2] += int(fields[11]) + int(fields[12])
        row[3] += run_delay
    return table


def print_threads(before, after, n):
    tick = os.sysconf("SC_CLK_TCK")
    print(f"  {'thread':<18}{'vol/op':>8}{'invol/op':>10}{'CPU us/op':>11}{'waiting us/op':>15}")
    for name in sorted(after, key=lambda k: -(after[k][2] - before.get(k, [0, 0, 0, 0])[2])):
        b = before.get(name, [0, 0, 0, 0])
        d = [a - x for a, x in zip(after[name], b)]
        if any(d):
            print(f"  {name:<18}{d[0] / n:>8.2f}{d[1] / n:>10.2f}{1e6 * d[2] / tick / n:>11.1f}{d[3] / 1e3 / n:>15.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("proxy", help="squid, filterservice or a variant as loadbench.py --proxies takes it, e.g. "
                        "filterservice:lean-off=Proxy__LeanHttp=false or filterservice:before@/work/wt-before")
    parser.add_argument("step", choices=["plain", "blocked", "tunnels", "downloads"])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1, help="measure the step this many times; prints the median too")
    parser.add_argument("--threads", action="store_true",
                        help="also break context switches, CPU and time spent runnable but waiting for a CPU down by "
                        "thread name (threads of one name summed)")
    parser.add_argument("--strace", help="count the proxy's system calls during the (first) step into this file (strace -c -f; "
                        "slows the proxy, so read the counts per operation, not the rates)")
    parser.add_argument("--smaps", action="store_true", help="after the step, list the proxy's resident memory by mapping")
    parser.add_argument("--perf", help="write a perf profile of the proxy during the (first) step to this file")
    parser.add_argument("--alloc", help="write the GC's allocation samples of the proxy during the (first) step to this "
                        ".nettrace (dotnet-trace, `dotnet tool install -g dotnet-trace`); sum them by type with "
                        "`dotnet run -c Release --project bench/AllocTicks -- FILE`")
    parser.add_argument("--jit", help="write the JIT's events of the proxy during the (first) step to this .nettrace "
                        "(dotnet-trace); list what was compiled with `dotnet run -c Release --project bench/AllocTicks -- "
                        "FILE --jit`")
    parser.add_argument("--perf-event", help="with --perf: record this event instead of CPU samples, e.g. "
                        "syscalls:sys_enter_futex to see who wakes threads")
    parser.add_argument("--start-timeline", type=float, metavar="SECONDS",
                        help="instead of a step: from the first answer, print RSS and glibc's [heap], anonymous memory and "
                        "JIT code (MB) every 0.5 s for this long, then stop")
    parser.add_argument("--proxy-cpus", metavar="LIST", help="run the proxy under taskset -c LIST, e.g. 0 or 0,1")
    parser.add_argument("--run-dir", default="/tmp/filterservice-loadbench")
    args = parser.parse_args()
    try:
        args.variant = lb.parse_proxies(args.proxy)[0]
        if args.proxy_cpus:
            lb.cpu_list(args.proxy_cpus)
    except (ValueError, IndexError) as problem:
        parser.error(str(problem) or "no proxy")
    args.proxy = args.variant.kind  # what the steps and the metrics go by; the variant is what is started

    run = os.path.abspath(args.run_dir)
    if not os.path.exists(os.path.join(run, "nginx.conf")):
        sys.exit(f"{run} is not prepared: run bench/load/run once first")
    if args.perf:
        os.environ["DOTNET_PerfMapEnabled"] = "1"
        os.environ["DOTNET_EnableWriteXorExecute"] = "0"  # lets perf resolve JIT-compiled code

    nginx = lb.start_nginx(run)
    proxy = None
    try:
        proxy, startup = lb.start_proxy(args.variant, run, 180, cpus=args.proxy_cpus)
        if args.start_timeline:
            began = time.monotonic()
            print("s after first answer   RSS  [heap]  [anon]  JIT code")
            while time.monotonic() - began < args.start_timeline:
                m = dict(smaps(proxy.pid, top=None))
                mb = lambda name: m.get(name, 0) / 1024
                print(f"{time.monotonic() - began:20.1f} {lb.rss_mb(proxy.pid):5.1f} {mb('[heap]'):7.1f} {mb('[anon]'):7.1f} "
                      f"{mb('/memfd:doublemapper'):9.1f}", flush=True)
                time.sleep(0.5)
            return
        time.sleep(2)  # as `run` does: RSS 2 s after the first answer, before any load
        print(f"{args.variant}: started in {startup:.2f} s; RSS 2 s after start {lb.rss_mb(proxy.pid):.0f} MB; "
              f"CPUs {lb.cpus_allowed(proxy.pid)}", flush=True)
        at_start = dict(smaps(proxy.pid, top=None)) if args.smaps else {}
        raw = os.path.join(run, "raw", f"profile-{args.variant}-{args.step}.txt")
        steps = lb.load_steps(args.proxy, run)
        warm = argparse.Namespace(connections=args.connections, duration=args.warmup)
        for go in steps.values():
            go(warm, raw)
        measure = argparse.Namespace(connections=args.connections, duration=args.seconds)
        per_cpu = []
        for repeat in range(args.repeat):
            perf = None
            if args.perf and repeat == 0:
                what = ["-e", args.perf_event] if args.perf_event else ["-F", "499"]
                perf = subprocess.Popen(["perf", "record", *what, "-g", "-p", str(proxy.pid), "-o", args.perf,
                                         "--", "sleep", str(args.seconds)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            traces = []  # dotnet-trace sessions over the step: the GC's allocation samples, the JIT's events
            for out, events in ((args.alloc, "gc"), (args.jit, "jit")):
                if out and repeat == 0:
                    trace = os.path.expanduser("~/.dotnet/tools/dotnet-trace")
                    traces.append(subprocess.Popen([trace if os.path.exists(trace) else "dotnet-trace", "collect", "-p",
                                                    str(proxy.pid), "--clrevents", events, "--clreventlevel", "verbose",
                                                    "--duration", f"00:00:{args.seconds // 60:02}:{args.seconds % 60:02}",
                                                    "-o", out],
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            if traces:
                time.sleep(1)
            tracer = None
            if args.strace and repeat == 0:
                tracer = subprocess.Popen(["strace", "-c", "-f", "-o", args.strace, "-p", str(proxy.pid)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            # As bench/load/run: the step starts with the decision index caught up, and its request-path figure leaves
            # the index's thread out (it indexes the step's records mostly after the step, at nice 19).
            lb.drain_index(proxy.pid)
            (u0, s0), t0, g0 = lb.cpu_times(proxy.pid), by_thread(proxy.pid), gc_figures(args.proxy)
            i0 = lb.index_ticks(proxy.pid) or 0
            o0, l0 = lb.cpu_seconds(nginx.pid), children_cpu_seconds()
            result = steps[args.step](measure, raw)
            (u1, s1), t1, g1 = lb.cpu_times(proxy.pid), by_thread(proxy.pid), gc_figures(args.proxy)
            i1 = lb.index_ticks(proxy.pid) or 0
            o1, l1 = lb.cpu_seconds(nginx.pid), children_cpu_seconds()
            c0, c1 = switches(t0), switches(t1)
            if perf:
                perf.wait(timeout=args.seconds + 30)
            for session in traces:
                session.wait(timeout=args.seconds + 60)
            if traces:
                print(f"traces: {', '.join(t for t in (args.alloc, args.jit) if t)} ({result['completed']:,} operations)")
            if tracer:
                tracer.send_signal(signal.SIGINT)
                tracer.wait(timeout=30)
                print(f"system calls: {args.strace} ({result['completed']:,} operations)")
            n = result["completed"]
            per_cpu.append(n / ((u1 - u0) + (s1 - s0)))
            print(f"{args.variant} {args.step}: {result['rate']:,.0f}/s, p99 {result['p99_ms']:.2f} ms, "
                  f"{per_cpu[-1]:,.0f} per CPU-s: user {1e6 * (u1 - u0) / n:.1f} us + system {1e6 * (s1 - s0) / n:.1f} us "
                  f"per operation; context switches per operation {(c1[0] - c0[0]) / n:.2f} voluntary, "
                  f"{(c1[1] - c0[1]) / n:.2f} involuntary; RSS {lb.rss_mb(proxy.pid):.0f} MB; "
                  f"request path {n / ((u1 - u0) + (s1 - s0) - (i1 - i0) / lb.CLK_TCK):,.0f} per CPU-s", flush=True)
            with open(raw) as f:
                finer = re.search(r"^percentiles \(ms\):(.*)$", f.read(), re.M)  # plain.lua's own line
            if finer:
                print("  latency" + finer.group(1))
            print(f"  the load generator used {1e6 * (l1 - l0) / n:.1f} us and the origin {1e6 * (o1 - o0) / n:.1f} us of CPU "
                  f"per operation")
            if g0 is not None:
                print(f"  managed allocation {(g1[0] - g0[0]) / n:,.0f} bytes per operation; {1000 * (g1[1] - g0[1]) / n:.2f} "
                      f"collections and {1e6 * (g1[2] - g0[2]) / n:.1f} ms of GC pause per 1,000 operations; "
                      f"{g1[3] - g0[3]:,.0f} methods JIT-compiled during the step, {1000 * (g1[4] - g0[4]):,.0f} ms of compiling")
            if args.threads:
                print_threads(t0, t1, n)
        if args.smaps:
            print("resident MB by mapping after the last step, and its growth since the start (warm-up included):")
            for name, kb in smaps(proxy.pid):
                print(f"  {kb / 1024:7.1f}  {(kb - at_start.get(name, 0)) / 1024:+6.1f}  {name}")
            if args.proxy == "filterservice":
                import urllib.request
                text = urllib.request.urlopen(f"http://127.0.0.1:{lb.ADMIN_PORT}/metrics", timeout=10).read().decode()
                print("the GC at its last collection (MB):")
                for line in text.splitlines():
                    if line.startswith(("dotnet_gc_last_collection", "dotnet_gc_heap")) and not line.startswith("#"):
                        label, value = line.rsplit(" ", 1)
                        print(f"  {float(value) / 1048576:7.1f}  {label}")
        if args.repeat > 1:
            print(f"median of {args.repeat}: {statistics.median(per_cpu):,.0f} per CPU-s")
    finally:
        if proxy:
            proxy.stop()
        nginx.stop(signal.SIGQUIT)


if __name__ == "__main__":
    main()
