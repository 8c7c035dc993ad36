#!/usr/bin/env python3
"""Console page render times (issue 18): p50/p99 per page with a 1.4M-entry policy loaded.

Run it through bench/console/run, which publishes the service (Release) into the run directory first.
Everything listens on 127.0.0.1 on ports picked free at start; the one process this script starts (the published
service) has a pidfile in RUN/pids and is stopped on exit; nothing it did not start is touched. Every wait is bounded.

Steps:
  1. RUN/policy: deploy/samples/default (Cherry Oak) plus a category holding the 1,437,538 domains of
     shared/data/bench/domains-1m.txt.gz (BENCH_DATA), blocked for everyone by a rule of its own.
  2. An account, created with the CLI as a school would: `admin add --user bench --role ict-manager`, password on stdin.
  3. The published service started as its own process; ready when /health answers 200 (the list is loaded by then).
  4. Sign-in over HTTP: GET the sign-in page for the antiforgery token and cookie, POST the form, keep the cookie.
  5. Each page found (a 404 or a redirect to sign-in means the branch has no such page: skipped and said so) gets
     --warmup requests, then --requests timed ones, one after another on one kept-alive connection, pages interleaved
     so a change in machine load hits every page alike. Time is first byte sent to last byte read: the server's work
     plus loopback, whose cost /health (a few bytes, no rendering) shows in the same table.
The report (--out, default bench/results/console.md) gives the machine, the load average and the figures.
"""

import argparse
import datetime
import gzip
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
USER, ROLE, PASSWORD = "bench", "ict-manager", "bench-console-password-1"
SIGN_IN_PATHS = ["/signin"]
STAFF_ASK = "user=staff1&where=staffroom&url=https%3A%2F%2Fwww.facebook.com%2F"

# (page, candidate paths): the first path that answers 200 is measured.
PAGES = [
    ("health (no rendering)", ["/health"]),
    ("home", ["/"]),
    ("simulator", [f"/simulator?{STAFF_ASK}&at=2026-11-23T10%3A00"]),
    ("simulator week view", [f"/simulator/week?{STAFF_ASK}&week=2026-11-23"]),
    ("history", ["/history"]),
    ("policy editing", ["/policy", "/editing", "/edit", "/policy/schedules", "/schedules"]),
    ("decisions", ["/decisions"]),
    ("incidents", ["/incidents"]),
    ("weekly report", ["/reports/weekly"]),
    ("review pack page", ["/reports/review"]),
]
# What a page must contain to count: the simulator's answer for staff1, the week's chart with the lunch rule.
EXPECTED = {"simulator": "staff-working-hours", "simulator week view": "staff-lunch-staffroom"}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Started:
    """The process this run started, remembered in RUN/pids/NAME.pid; stop() ends it only."""

    def __init__(self, run, name, process):
        self.process = process
        self.pidfile = os.path.join(run, "pids", f"{name}.pid")
        with open(self.pidfile, "w") as f:
            f.write(f"{process.pid}\n")

    def stop(self, timeout=20):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if os.path.exists(self.pidfile):
            os.remove(self.pidfile)


def prepare_policy(args, run):
    policy = os.path.join(run, "policy")
    shutil.rmtree(policy, ignore_errors=True)
    shutil.copytree(os.path.join(REPO, "deploy/samples/default"), policy)
    with gzip.open(os.path.join(args.bench_data, "domains-1m.txt.gz"), "rt") as f:
        domains = [line.strip() for line in f if line.strip()]
    with open(os.path.join(policy, "lists/bench-blocked.txt"), "w") as f:
        f.write("\n".join(domains) + "\n")
    path = os.path.join(policy, "policy.yaml")
    with open(path) as f:
        text = f.read()
    for anchor, added in (
        ("categories:\n", "  bench-blocked:\n    description: The 1.4M-domain benchmark list (bench/console)\n"
                          "    lists: [ { path: lists/bench-blocked.txt, format: domains } ]\n"),
        # The last rule, so the sample's own rules (the simulator pages' staff rules) still decide first.
        ("\ndefault: allow\n", "  - { name: bench-blocked, description: Everything on the benchmark list, category: bench-blocked, action: block }\n"),
    ):
        if text.count(anchor) != 1:
            sys.exit(f"deploy/samples/default/policy.yaml: expected one '{anchor.strip()}' line")
        text = text.replace(anchor, added + anchor if anchor.startswith("\ndefault") else anchor + added)
    with open(path, "w") as f:
        f.write(text)
    return len(domains)


def service_args(run, proxy_port, admin_port):
    return [f"--Proxy:Listen=127.0.0.1:{proxy_port}", f"--Admin:Listen=127.0.0.1:{admin_port}",
            f"--Policy:Path={run}/policy", "--Policy:Watch=false", f"--Audit:Path={run}/audit"]


def service_env():
    env = dict(os.environ)
    env["DOTNET_ENVIRONMENT"] = env["ASPNETCORE_ENVIRONMENT"] = "Production"
    return env


def create_account(run, settings):
    dll = os.path.join(run, "publish/FilterService.dll")
    result = subprocess.run(["dotnet", dll, "admin", "add", "--user", USER, "--role", ROLE] + settings,
                            input=PASSWORD + "\n", capture_output=True, text=True, timeout=120, cwd=run, env=service_env())
    if result.returncode != 0 and "exists" not in (result.stdout + result.stderr):
        sys.exit(f"admin add failed ({result.returncode}): {result.stdout}{result.stderr}")


class Session:
    """One kept-alive HTTP/1.1 connection with the cookies the server set."""

    def __init__(self, port):
        self.port, self.cookies, self.connection = port, {}, None

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                started = time.perf_counter()
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
                break
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response.status, response.getheader("Location"), data, elapsed


def wait_ready(session, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if session.request("GET", "/health")[0] == 200:
                return True
        except OSError:
            session.connection = None
        time.sleep(0.25)
    return False


def sign_in(session):
    for path in SIGN_IN_PATHS:
        status, _, body, _ = session.request("GET", path)
        if status != 200:
            continue
        page = body.decode("utf-8", "replace")
        token = re.search(r'name="__RequestVerificationToken"[^>]*value="([^"]+)"', page) \
            or re.search(r'value="([^"]+)"[^>]*name="__RequestVerificationToken"', page)
        if token is None:
            sys.exit(f"{path}: no antiforgery token in the sign-in form")
        form = urllib.parse.urlencode({"user": USER, "password": PASSWORD, "__RequestVerificationToken": token.group(1)})
        status, location, _, _ = session.request("POST", path, form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status in (302, 303) and not any(p.lower() in (location or "").lower() for p in SIGN_IN_PATHS):
            return path
        sys.exit(f"POST {path} answered {status} (Location {location}): sign-in failed")
    sys.exit(f"no sign-in page at any of {SIGN_IN_PATHS}")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def measure(session, args):
    found, skipped = [], []
    for name, paths in PAGES:
        for path in paths:
            status, location, body, _ = session.request("GET", path)
            if status == 200:
                # The page must have done its work, not shown a form with a complaint: else the figure means nothing.
                if name in EXPECTED and EXPECTED[name].encode() not in body:
                    sys.exit(f"{path} answered 200 without {EXPECTED[name]!r}: the page did not render its answer")
                found.append((name, path, len(body)))
                break
        else:
            skipped.append((name, paths, status, location))
    timings = {name: [] for name, _, _ in found}
    for i in range(args.warmup + args.requests):
        for name, path, _ in found:
            status, _, _, elapsed = session.request("GET", path)
            if status != 200:
                sys.exit(f"{path} answered {status} during the run")
            if i >= args.warmup:
                timings[name].append(elapsed * 1000)
    return found, skipped, timings


def command_output(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine():
    cpu = re.search(r"Model name:\s+(.*)", command_output(["lscpu"]))
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
    os_name = (re.search(r'PRETTY_NAME="(.*)"', open("/etc/os-release").read()) or [None, "?"])[1]
    return (f"{cpu.group(1).strip() if cpu else platform.processor()}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.1f} GB RAM; "
            f"{os_name}, kernel {platform.release()}; .NET SDK {command_output(['dotnet', '--version'])}; "
            f"commit {command_output(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'])}")


def report(args, entries, found, skipped, timings, loads, started_utc, sign_in_path):
    fmt = lambda l: " ".join(f"{x:.2f}" for x in l)
    lines = [
        "# Console page render times" + (" (QUICK RUN: proves the harness, not a result)" if args.quick else ""),
        "",
        f"Run {started_utc:%Y-%m-%d %H:%M} UTC with `bench/console/run{' --quick' if args.quick else ''}` "
        f"({args.warmup} warm-up and {args.requests} timed requests per page, pages interleaved, one kept-alive connection).",
        "",
        f"- Machine: {machine()}",
        f"- Load average (1, 5, 15 min) before: {fmt(loads[0])}; after: {fmt(loads[1])}. The machine is shared: "
        "treat figures as a ceiling, rerun on a quiet machine.",
        f"- Policy: deploy/samples/default plus one category of {entries:,} domains (shared/data/bench/domains-1m.txt.gz), "
        "loaded by the published service (Release) started as its own process, Production environment.",
        f"- Signed in over HTTP (antiforgery token and cookie from GET {sign_in_path}, then POST) as `{USER}` "
        f"({ROLE}), an account made with `admin add`.",
        "- Time: first byte of the request sent to last byte of the answer read, on 127.0.0.1: the server's work plus "
        "loopback; the `/health` row (no rendering) shows that floor.",
        "",
        "| page | path | bytes | p50 ms | p99 ms | mean ms | max ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, path, size in found:
        t = timings[name]
        lines.append(f"| {name} | `{path.split('?')[0]}` | {size:,} | {percentile(t, 50):.2f} | {percentile(t, 99):.2f} | "
                     f"{statistics.mean(t):.2f} | {max(t):.2f} |")
    lines.append("")
    if skipped:
        lines.append("Not on this branch when run (skipped):")
        lines.append("")
        for name, paths, status, location in skipped:
            lines.append(f"- {name}: {', '.join(f'`{p}`' for p in paths)} answered {status}"
                         + (f" (redirect to {location.split('?')[0]})" if location else ""))
        lines.append("")
    lines.append("The simulator pages ask about `staff1` on the staffroom network and https://www.facebook.com/ "
                 "(10:00 on Monday 2026-11-23; the week view for that week).")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, help="timed requests per page (default 500; 20 with --quick)")
    parser.add_argument("--warmup", type=int, help="warm-up requests per page (default 100; 5 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a few requests per page: proves the harness works, not a result")
    parser.add_argument("--start-timeout", type=int, default=300)
    parser.add_argument("--run-dir", default="/tmp/filterservice-consolebench")
    parser.add_argument("--bench-data", default=os.environ.get("BENCH_DATA", os.path.join(REPO, "..", "shared/data/bench")))
    parser.add_argument("--out", help="the report; default bench/results/console.md, with --quick RUN/console-quick.md")
    args = parser.parse_args()
    args.requests = args.requests or (20 if args.quick else 500)
    args.warmup = args.warmup or (5 if args.quick else 100)
    run = os.path.abspath(args.run_dir)
    args.out = args.out or (os.path.join(run, "console-quick.md") if args.quick else os.path.join(REPO, "bench/results/console.md"))
    if not os.path.exists(os.path.join(run, "publish/FilterService.dll")):
        sys.exit(f"{run}/publish/FilterService.dll is missing: run bench/console/run, which publishes it")
    os.makedirs(os.path.join(run, "pids"), exist_ok=True)
    stale = os.listdir(os.path.join(run, "pids"))
    if stale:
        sys.exit(f"{run}/pids holds {stale}: a previous run did not stop cleanly; check those processes")
    for sub in ("audit", "logs"):
        shutil.rmtree(os.path.join(run, sub), ignore_errors=True)
        os.makedirs(os.path.join(run, sub))

    started_utc = datetime.datetime.now(datetime.timezone.utc)
    loads = [os.getloadavg()]
    log("writing the policy with the 1.4M list")
    entries = prepare_policy(args, run)
    proxy_port, admin_port = free_port(), free_port()
    settings = service_args(run, proxy_port, admin_port)
    log("creating the account with admin add")
    create_account(run, settings)
    log(f"starting the published service (admin port {admin_port})")
    out = open(os.path.join(run, "logs/service.log"), "ab")
    process = subprocess.Popen(["dotnet", os.path.join(run, "publish/FilterService.dll")] + settings,
                               stdout=out, stderr=subprocess.STDOUT, cwd=run, env=service_env())
    service = Started(run, "filterservice", process)
    try:
        session = Session(admin_port)
        if not wait_ready(session, process, args.start_timeout):
            sys.exit(f"the service did not become healthy within {args.start_timeout} s; see {run}/logs/service.log")
        log("signing in")
        path = sign_in(session)
        log(f"measuring ({args.warmup} warm-up + {args.requests} timed requests per page)")
        found, skipped, timings = measure(session, args)
    finally:
        service.stop()
    loads.append(os.getloadavg())
    lines = report(args, entries, found, skipped, timings, loads, started_utc, path)
    print("\n".join(lines))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
