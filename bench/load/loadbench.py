#!/usr/bin/env python3
"""Side-by-side load benchmark: FilterService against Squid, same machine, same policy, same origins.

Run it through bench/load/run (which installs squid, nginx and wrk and builds the Release binaries).
Everything listens on 127.0.0.1; every process this script starts has a pidfile in the run directory and
is stopped on exit; nothing it did not start is touched. Every load step is bounded in time.

Each round starts each proxy fresh (alternating which goes first), then measures:
  startup     seconds from exec to the first answered request, with the 1.4M-domain list loaded
  rss_start   resident memory 2 s after that answer (whole process tree)
  warm-up     each step below for --warmup seconds, not measured
  plain       wrk, 50 connections, absolute-form GET of a 1 KB file through the proxy
  blocked     wrk, 50 connections, absolute-form GETs cycling through 1,000 listed domains (403s)
  tunnels     new TCP + CONNECT + full TLS handshake with the origin + GET 1 KB + close, 50 at a time
  downloads   100 KB GETs over 50 kept-open tunnels
  rss_load    resident memory after all of that
CPU seconds come from /proc/PID/stat (utime+stime, children included) read before and after each step,
so each rate is also given per proxy CPU-second. The report takes the median of the rounds.
"""

import argparse
import datetime
import gzip
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HTTP_PORT, HTTPS_PORT = 18080, 18443
PORTS = {"squid": 13128, "filterservice": 23128}
ADMIN_PORT = 29090
PLAIN_HOST, TLS_HOST = "plain.origin.test", "tls.origin.test"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NAMES = {"squid": "Squid", "filterservice": "FilterService"}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- processes

class Started:
    """A process this run started, remembered in RUN/pids/NAME.pid; stop() ends it and its tree only."""

    def __init__(self, run, name, pid):
        self.name, self.pid = name, pid
        self.pidfile = os.path.join(run, "pids", f"{name}.pid")
        with open(self.pidfile, "w") as f:
            f.write(f"{pid}\n")

    def alive(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.alive():
            tree = process_tree(self.pid)
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                reap()
                time.sleep(0.05)
            for pid in tree:  # anything left of what we started
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            reap()
        if os.path.exists(self.pidfile):
            os.remove(self.pidfile)


def reap():
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def process_tree(root):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_times(root):
    """(user, system) seconds of the tree, each with what reaped children left in cutime/cstime."""
    user = system = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        user += int(fields[11]) + int(fields[13])    # utime + cutime
        system += int(fields[12]) + int(fields[14])  # stime + cstime
    return user / CLK_TCK, system / CLK_TCK


def cpu_seconds(root):
    return sum(cpu_times(root))


def rss_mb(root):
    kb = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        kb += int(line.split()[1])
        except FileNotFoundError:
            pass
    return kb / 1024


def http_get_through(port, url, host, timeout=2.0):
    """One absolute-form GET through the proxy; returns the status code, or None if nothing answered."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(64)
            m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
            return int(m.group(1)) if m else None
    except OSError:
        return None


# ---------------------------------------------------------------- preparation

def prepare(args, run):
    for sub in ("pids", "logs", "raw", "www", "nginx-tmp", "policy/lists"):
        os.makedirs(os.path.join(run, sub), exist_ok=True)
    os.chmod(run, 0o755)
    shutil.chown(os.path.join(run, "logs"), user="proxy")
    os.chmod(os.path.join(run, "logs"), 0o777)

    # origin content and certificate
    rnd = random.Random(20261121)
    for name, size in (("1k", 1024), ("100k", 100 * 1024)):
        with open(os.path.join(run, "www", name), "wb") as f:
            f.write(bytes(rnd.getrandbits(8) for _ in range(size)))
    if not os.path.exists(os.path.join(run, "origin.crt")):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "30", "-subj", f"/CN={TLS_HOST}", "-addext", f"subjectAltName=DNS:{TLS_HOST}",
                        "-keyout", os.path.join(run, "origin.key"), "-out", os.path.join(run, "origin.crt")],
                       check=True, capture_output=True)
    with open(os.path.join(run, "hosts"), "w") as f:
        f.write(f"127.0.0.1 {PLAIN_HOST} {TLS_HOST}\n")

    # the 1.4M list, once as FilterService reads it and once as a Squid dstdomain file
    domains_gz = os.path.join(args.bench_data, "domains-1m.txt.gz")
    with gzip.open(domains_gz, "rt") as f:
        domains = [line.strip() for line in f if line.strip()]
    with open(os.path.join(run, "policy/lists/bench-blocked.txt"), "w") as f:
        f.write("\n".join(domains) + "\n")
    with open(os.path.join(run, "squid-blocked.dstdomain"), "w") as f:
        f.write("".join(f".{d}\n" for d in squid_domains(domains)))
    sample = random.Random(7).sample(domains, 1000)
    with open(os.path.join(run, "blocked-sample.txt"), "w") as f:
        f.write("\n".join(sample) + "\n")

    # the social list, the same files for both
    samples = os.path.join(REPO, "deploy/samples/default/lists")
    shutil.copy(os.path.join(samples, "sinfonietta-social.hosts"), os.path.join(run, "policy/lists/social.hosts"))
    shutil.copy(os.path.join(samples, "social-extra.txt"), os.path.join(run, "policy/lists/social-extra.txt"))
    social = []
    for name in ("social.hosts", "social-extra.txt"):
        with open(os.path.join(run, "policy/lists", name)) as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if words:
                    social.append(words[-1].lower().rstrip("."))
    with open(os.path.join(run, "squid-social.dstdomain"), "w") as f:
        f.write("".join(f".{d}\n" for d in squid_domains(social)))
    shutil.copy(os.path.join(HERE, "policy/policy.yaml"), os.path.join(run, "policy/policy.yaml"))

    substitutions = {"@RUN@": run, "@HTTP_PORT@": str(HTTP_PORT), "@HTTPS_PORT@": str(HTTPS_PORT),
                     "@SQUID_PORT@": str(PORTS["squid"])}
    for name in ("nginx.conf", "squid.conf"):
        with open(os.path.join(HERE, name)) as f:
            text = f.read()
        for key, value in substitutions.items():
            text = text.replace(key, value)
        with open(os.path.join(run, name), "w") as f:
            f.write(text)
    return len(domains), sample[0]


def squid_domains(domains):
    """Squid refuses overlapping dstdomain entries (it warns for every one and keeps only one of each pair),
    so it gets each listed domain not already covered by a listed parent. Every name FilterService blocks
    is still blocked by Squid, and Squid loads fewer entries, not more."""
    listed = set(domains)
    kept = []
    for d in domains:
        labels = d.split(".")
        if not any(".".join(labels[i:]) in listed for i in range(1, len(labels) - 1)):
            kept.append(d)
    return kept


# ---------------------------------------------------------------- the proxies

def proxy_command(kind, run):
    if kind == "squid":
        return ["squid", "-N", "-f", os.path.join(run, "squid.conf")]
    dll = os.path.join(REPO, "src/FilterService/bin/Release/net10.0/FilterService.dll")
    return ["dotnet", dll,
            f"--Proxy:Listen=127.0.0.1:{PORTS['filterservice']}", f"--Admin:Listen=127.0.0.1:{ADMIN_PORT}",
            f"--Policy:Path={run}/policy", "--Policy:Watch=false", f"--Audit:Path={run}/logs/filterservice",
            "--Proxy:AllowLoopbackUpstream=true", f"--Proxy:ConnectPorts={HTTPS_PORT}",
            f"--Proxy:HostOverrides:{PLAIN_HOST}=127.0.0.1:{HTTP_PORT}",
            f"--Proxy:HostOverrides:{TLS_HOST}=127.0.0.1:{HTTPS_PORT}"]


def start_proxy(kind, run, timeout):
    port = PORTS[kind]
    if http_get_through(port, "http://x/", "x", timeout=0.5) is not None:
        sys.exit(f"port {port} is already in use; stop whatever holds it")
    out = open(os.path.join(run, "logs", f"{kind}-console.log"), "ab")
    started_at = time.monotonic()
    process = subprocess.Popen(proxy_command(kind, run), stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    started = Started(run, kind, process.pid)
    deadline = started_at + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{kind} exited with {process.returncode} during start; see {run}/logs/{kind}-console.log")
        if http_get_through(port, f"http://{PLAIN_HOST}:{HTTP_PORT}/1k", PLAIN_HOST) == 200:
            return started, time.monotonic() - started_at
        time.sleep(0.02)
    started.stop()
    sys.exit(f"{kind} did not answer within {timeout} s")


def check_same_work(kind, blocked_host):
    """Both proxies must give the same answers before anything is timed."""
    port = PORTS[kind]
    expected = [(f"http://{PLAIN_HOST}:{HTTP_PORT}/1k", PLAIN_HOST, 200),
                (f"http://{blocked_host}/", blocked_host, 403),
                (f"http://www.{blocked_host}/", "www." + blocked_host, 403)]
    for url, host, status in expected:
        got = http_get_through(port, url, host)
        if got != status:
            sys.exit(f"{kind}: GET {url} answered {got}, expected {status}: the two proxies are not doing the same work")


# ---------------------------------------------------------------- load steps

def parse_duration_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(kind, script, env, args, raw_path):
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "--timeout", "10s",
               "-s", os.path.join(HERE, script), f"http://127.0.0.1:{PORTS[kind]}"]
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=args.duration + 30)
    with open(raw_path, "w") as f:
        f.write(result.stdout + result.stderr)
    out = result.stdout
    try:
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        return {
            "completed": int(re.search(r"(\d+) requests in ", out).group(1)),
            "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            # Anchored to the line: a "+/- Stdev" column such as "57.50%" must not be read as the 50th percentile.
            "p50_ms": parse_duration_ms(re.search(r"^\s+50%\s+(\S+)$", out, re.M).group(1)),
            "p99_ms": parse_duration_ms(re.search(r"^\s+99%\s+(\S+)$", out, re.M).group(1)),
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
        }
    except (AttributeError, ValueError):
        sys.exit(f"wrk against {kind} (exit {result.returncode}) printed what this script cannot read, in {raw_path}:\n"
                 + out + result.stderr)


def run_load_client(kind, mode, path, args, raw_path):
    dll = os.path.join(REPO, "bench/LoadClient/bin/Release/net10.0/LoadClient.dll")
    command = ["dotnet", dll, mode, "--proxy", f"127.0.0.1:{PORTS[kind]}", "--target", f"{TLS_HOST}:{HTTPS_PORT}",
               "--path", path, "--connections", str(args.connections), "--duration", str(args.duration)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60)
    with open(raw_path, "w") as f:
        f.write(result.stdout + result.stderr)
    if result.returncode != 0:
        sys.exit(f"LoadClient failed against {kind}: {raw_path}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def load_steps(kind, run):
    """The four measured steps against one proxy, in order: name -> run(args, raw_path) -> result."""
    plain_env = {"TARGET": f"http://{PLAIN_HOST}:{HTTP_PORT}/1k"}
    blocked_env = {"BLOCKED": os.path.join(run, "blocked-sample.txt")}
    return {
        "plain": lambda a, raw: run_wrk(kind, "plain.lua", plain_env, a, raw),
        "blocked": lambda a, raw: run_wrk(kind, "blocked.lua", blocked_env, a, raw),
        "tunnels": lambda a, raw: run_load_client(kind, "handshakes", "/1k", a, raw),
        "downloads": lambda a, raw: run_load_client(kind, "downloads", "/100k", a, raw),
    }


def measured(started, step):
    before = cpu_seconds(started.pid)
    result = step()
    result["cpu_s"] = cpu_seconds(started.pid) - before
    result["per_cpu_s"] = result["completed"] / result["cpu_s"] if result["cpu_s"] > 0 else float("nan")
    return result


def one_proxy(kind, round_no, run, args, blocked_host):
    log(f"round {round_no}: {kind}: starting")
    started, startup = start_proxy(kind, run, args.start_timeout)
    try:
        time.sleep(2)
        result = {"round": round_no, "proxy": kind, "startup_s": startup, "rss_start_mb": rss_mb(started.pid)}
        check_same_work(kind, blocked_host)
        steps = load_steps(kind, run)
        raw = lambda step: os.path.join(run, "raw", f"{round_no}-{kind}-{step}.txt")
        # Warm every path first (both proxies alike): .NET compiles hot methods again, optimised, in the first seconds.
        warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
        for step, go in steps.items():
            go(warm, raw("warmup-" + step))
        for step, go in steps.items():
            result[step] = measured(started, lambda: go(args, raw(step)))
        result["rss_load_mb"] = rss_mb(started.pid)
        for step in steps:
            r = result[step]
            log(f"round {round_no}: {kind}: {step}: {r['rate']:.0f}/s, {r['per_cpu_s']:.0f} per CPU-s, "
                f"p99 {r['p99_ms']:.2f} ms")
        log(f"round {round_no}: {kind}: startup {startup:.2f} s, RSS {result['rss_start_mb']:.0f} MB after start, "
            f"{result['rss_load_mb']:.0f} MB after load")
        return result
    finally:
        started.stop()


def check_result(result):
    """A step that did not do what it should invalidates the run rather than flattering a proxy."""
    problems = []
    if result["plain"]["non2xx"] or result["plain"]["socket_errors"]:
        problems.append(f"plain: {result['plain']['non2xx']} non-2xx, {result['plain']['socket_errors']} socket errors")
    if result["blocked"]["non2xx"] != result["blocked"]["completed"]:
        problems.append(f"blocked: only {result['blocked']['non2xx']} of {result['blocked']['completed']} were refused")
    for step in ("tunnels", "downloads"):
        if result[step]["errors"]:
            problems.append(f"{step}: {result[step]['errors']} errors, first: {result[step]['first_error']}")
    return problems


# ---------------------------------------------------------------- report

def command_output(command):
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return result.stdout + result.stderr  # nginx -v prints to stderr
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_description():
    cpu = re.search(r"Model name:\s+(.*)", command_output(["lscpu"]))
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
    return {
        "cpu": cpu.group(1).strip() if cpu else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": (re.search(r'PRETTY_NAME="(.*)"', open("/etc/os-release").read()) or [None, "?"])[1],
        "squid": command_output(["squid", "-v"]).splitlines()[0].strip(),
        "nginx": command_output(["nginx", "-v"]).strip(),
        "wrk": command_output(["wrk", "-v"]).splitlines()[0].strip(),
        "dotnet": command_output(["dotnet", "--version"]).strip(),
        "commit": command_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).strip(),
    }


def median(results, kind, getter):
    return statistics.median(getter(r) for r in results if r["proxy"] == kind)


def write_report(results, args, machine, list_size, loads, started_utc, path):
    rows = [
        ("Plain HTTP, requests/s", lambda r: r["plain"]["rate"], "{:,.0f}", True),
        ("Plain HTTP, requests per proxy CPU-second", lambda r: r["plain"]["per_cpu_s"], "{:,.0f}", True),
        ("Plain HTTP, p50 latency (ms)", lambda r: r["plain"]["p50_ms"], "{:.2f}", False),
        ("Plain HTTP, p99 latency (ms)", lambda r: r["plain"]["p99_ms"], "{:.2f}", False),
        ("Blocked, requests/s", lambda r: r["blocked"]["rate"], "{:,.0f}", True),
        ("Blocked, requests per proxy CPU-second", lambda r: r["blocked"]["per_cpu_s"], "{:,.0f}", True),
        ("Blocked, p99 latency (ms)", lambda r: r["blocked"]["p99_ms"], "{:.2f}", False),
        ("New TLS tunnels/s", lambda r: r["tunnels"]["rate"], "{:,.0f}", True),
        ("New TLS tunnels per proxy CPU-second", lambda r: r["tunnels"]["per_cpu_s"], "{:,.0f}", True),
        ("New TLS tunnels, p99 (ms)", lambda r: r["tunnels"]["p99_ms"], "{:.2f}", False),
        ("100 KB downloads/s through tunnels", lambda r: r["downloads"]["rate"], "{:,.0f}", True),
        ("100 KB downloads per proxy CPU-second", lambda r: r["downloads"]["per_cpu_s"], "{:,.0f}", True),
        ("100 KB downloads, p99 (ms)", lambda r: r["downloads"]["p99_ms"], "{:.2f}", False),
        ("Proxy CPU during plain HTTP (cores)", lambda r: r["plain"]["cpu_s"] / args.duration, "{:.2f}", None),
        ("RSS after start (MB)", lambda r: r["rss_start_mb"], "{:.0f}", False),
        ("RSS after load (MB)", lambda r: r["rss_load_mb"], "{:.0f}", False),
        ("Start-up to first answer (s)", lambda r: r["startup_s"], "{:.2f}", False),
    ]
    rounds = max(r["round"] for r in results)
    lines = [
        f"# Load benchmark: FilterService against Squid",
        "",
        f"`bench/load/run` on {started_utc:%Y-%m-%d %H:%M} UTC, commit {machine['commit']}: {rounds} rounds "
        f"(each proxy started fresh every round, the order alternating), {args.duration} s per step after "
        f"{args.warmup} s of warm-up per step, {args.connections} connections. Medians of the rounds; the ratio is "
        "FilterService over Squid, oriented so that above 1 means FilterService is better.",
        "",
        "| | Squid | FilterService | ratio |",
        "|---|---:|---:|---:|",
    ]
    for label, getter, fmt, higher_better in rows:
        squid, ours = median(results, "squid", getter), median(results, "filterservice", getter)
        if higher_better is None or squid == 0 or ours == 0:
            ratio = ""
        else:
            ratio = f"{(ours / squid if higher_better else squid / ours):.2f}x"
        lines.append(f"| {label} | {fmt.format(squid)} | {fmt.format(ours)} | {ratio} |")
    lines += [
        "",
        "## The work",
        "",
        f"- Both proxies block the {list_size:,} domains of `shared/data/bench/domains-1m.txt.gz` as one category "
        "(Squid: a `dstdomain` ACL read from a file, given only the entries not covered by a listed parent, "
        "because Squid rejects overlapping entries) and the sample social list under a Mon-Fri 09:00-17:00 rule, "
        "allow everything else, and log every request (Squid: `access_log stdio:` in Squid format; FilterService: "
        "its JSON-lines audit log). Squid caches nothing (`cache deny all`), as FilterService has no cache. "
        "Configs: `bench/load/squid.conf`, `bench/load/policy/policy.yaml`.",
        f"- Origin: nginx ({machine['nginx']}), 2 workers, a 1 KB and a 100 KB file over HTTP and over HTTPS "
        "(self-signed ECDSA P-256, session cache and tickets off).",
        "- Plain and blocked: `wrk -t1 -c50 --latency` with absolute-form targets from `plain.lua` / `blocked.lua` "
        "(1,000 listed domains in rotation). Tunnels and downloads: `bench/LoadClient` (`handshakes`: new TCP, "
        "CONNECT, full TLS handshake with no resumption, GET 1 KB, close; `downloads`: GET 100 KB over 50 kept-open "
        "tunnels).",
        "- CPU: utime+stime of the proxy's process tree from `/proc/PID/stat` around each step. The load generator, "
        "nginx and the proxy share the same cores, so requests/s is bounded by the machine; requests per proxy "
        "CPU-second is the figure that compares the proxies.",
        "- RSS: VmRSS of the process tree. Start-up: from exec to the first 200 through the proxy, polled every 20 ms.",
        "",
        "## Machine",
        "",
        f"- {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, {machine['os']}, kernel {machine['kernel']}",
        f"- {machine['squid']}; {machine['nginx']}; {machine['wrk']}; .NET SDK {machine['dotnet']}",
        f"- load average before the run {loads[0]}, after {loads[1]}",
        "",
        "## Every round",
        "",
        "| round | proxy | plain/s | plain/CPU-s | p99 ms | blocked/s | blocked/CPU-s | tunnels/s | tunnels/CPU-s | "
        "100 KB/s | 100 KB/CPU-s | RSS start MB | RSS load MB | start s |",
        "|---|---|" + "---:|" * 12,
    ]
    for r in results:
        lines.append(
            f"| {r['round']} | {NAMES[r['proxy']]} | {r['plain']['rate']:,.0f} | {r['plain']['per_cpu_s']:,.0f} | "
            f"{r['plain']['p99_ms']:.2f} | {r['blocked']['rate']:,.0f} | {r['blocked']['per_cpu_s']:,.0f} | "
            f"{r['tunnels']['rate']:,.0f} | {r['tunnels']['per_cpu_s']:,.0f} | {r['downloads']['rate']:,.0f} | "
            f"{r['downloads']['per_cpu_s']:,.0f} | {r['rss_start_mb']:.0f} | {r['rss_load_mb']:.0f} | "
            f"{r['startup_s']:.2f} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump({"machine": machine, "args": vars(args), "results": results}, f, indent=1)
    return lines


def update_readme(table_lines):
    readme = os.path.join(REPO, "README.md")
    with open(readme) as f:
        text = f.read()
    begin, end = "<!-- load-benchmark:begin -->", "<!-- load-benchmark:end -->"
    if begin not in text:
        return
    table = "\n".join(line for line in table_lines if line.startswith("|"))
    table = table.split("\n| round |")[0]  # the summary only
    head, rest = text.split(begin, 1)
    text = head + begin + "\n" + table + "\n" + end + rest.split(end, 1)[1]
    with open(readme, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured step")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up load after each start")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--start-timeout", type=int, default=180)
    parser.add_argument("--run-dir", default="/tmp/filterservice-loadbench")
    parser.add_argument("--bench-data", default=os.environ.get("BENCH_DATA", os.path.join(REPO, "..", "shared/data/bench")))
    parser.add_argument("--out", default=os.path.join(REPO, "bench/results/load.md"))
    parser.add_argument("--proxies", default="squid,filterservice")
    parser.add_argument("--no-readme", action="store_true", help="do not copy the table into README.md")
    args = parser.parse_args()

    run = os.path.abspath(args.run_dir)
    os.makedirs(run, exist_ok=True)
    pids = os.path.join(run, "pids")
    stale = os.listdir(pids) if os.path.isdir(pids) else []
    if stale:
        sys.exit(f"{run}/pids holds {stale}: a previous run did not stop cleanly; check those processes")
    started_utc = datetime.datetime.now(datetime.timezone.utc)
    loads = [os.getloadavg()]
    log(f"preparing {run}")
    list_size, blocked_host = prepare(args, run)

    nginx = None
    try:
        subprocess.run(["nginx", "-c", os.path.join(run, "nginx.conf")], check=True, timeout=30)
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(run, "nginx.pid")) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(os.path.join(run, "nginx.pid")) as f:
            nginx = Started(run, "nginx", int(f.read().strip()))
        proxies = args.proxies.split(",")
        results = []
        for round_no in range(1, args.rounds + 1):
            order = proxies if round_no % 2 == 1 else list(reversed(proxies))
            for kind in order:
                result = one_proxy(kind, round_no, run, args, blocked_host)
                problems = check_result(result)
                if problems:
                    sys.exit(f"round {round_no}, {kind}: " + "; ".join(problems))
                results.append(result)
    finally:
        if nginx:
            nginx.stop(signal.SIGQUIT)
    loads.append(os.getloadavg())
    fmt = lambda l: " ".join(f"{x:.2f}" for x in l)
    if len(set(r["proxy"] for r in results)) < 2:
        print(json.dumps(results, indent=1))
        return
    lines = write_report(results, args, machine_description(), list_size, (fmt(loads[0]), fmt(loads[1])),
                         started_utc, args.out)
    if not args.no_readme:
        update_readme(lines)
    print("\n".join(lines))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
