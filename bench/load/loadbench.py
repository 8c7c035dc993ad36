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
Then, for the inspection suite, each proxy is started again with TLS inspection of *.bump.origin.test
(Squid: squid-inspect.conf, ssl_bump; FilterService: an inspection CA and policy), and measures:
  bumped      1 KB GETs over 50 kept-open inspected tunnels (the client checks the leaf against the bench CA)
  inspected   new TCP + CONNECT + TLS handshake with the proxy's leaf + GET 1 KB + close, cycling through
              --inspect-hosts names never seen before, so both leaf minting and the leaf cache show
The suites are plain, blocked, tunnels (tunnels and downloads) and inspection (--suites). Around plain, blocked,
bumped and inspected the log files grow: bytes per request of Squid's access.log and of FilterService's audit log.
CPU seconds come from /proc/PID/stat (utime+stime, children included) read before and after each step,
so each rate is also given per proxy CPU-second. The report takes the median of the rounds.
"""

import argparse
import concurrent.futures
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
HTTP_PORT, HTTPS_PORT, INSPECT_PORT = 18080, 18443, 18444
PORTS = {"squid": 13128, "filterservice": 23128}
ADMIN_PORT = 29090
PLAIN_HOST, TLS_HOST = "plain.origin.test", "tls.origin.test"
INSPECT_DOMAIN = "bump.origin.test"  # the inspection suite's names are hN.bump.origin.test and wN.bump.origin.test
SUITES = {"plain": ["plain"], "blocked": ["blocked"], "tunnels": ["tunnels", "downloads"], "inspection": ["bumped", "inspected"]}
LOGGED_STEPS = ("plain", "blocked", "bumped", "inspected")
RSS_SETTLE_S = 12  # a second RSS reading this long after the load: one period of the service's memory trimmer (10 s) and some
CLK_TCK = os.sysconf("SC_CLK_TCK")
NAMES = {"squid": "Squid", "filterservice": "FilterService"}
RELEASE_DLL = "src/FilterService/bin/Release/net10.0/FilterService.dll"


class Variant:
    """One column of the report: Squid, FilterService as built in this checkout, or a variant of FilterService: its own
    label, environment settings passed to the process (Proxy__LeanHttp=false, DOTNET_gcServer=1) and the checkout whose
    Release build it starts. Every variant is started and measured exactly as `filterservice`, on the same port."""

    def __init__(self, kind, label=None, repo=REPO, env=None):
        self.kind, self.label, self.repo, self.env = kind, label or kind, os.path.abspath(repo), dict(env or {})

    @property
    def port(self):
        return PORTS[self.kind]

    @property
    def name(self):
        return NAMES.get(self.label, self.label)

    @property
    def dll(self):
        return os.path.join(self.repo, RELEASE_DLL)

    def describe(self):
        parts = []
        if self.repo != REPO:
            built = datetime.datetime.fromtimestamp(os.path.getmtime(self.dll), datetime.timezone.utc)
            parts.append(f"the Release build of `{self.repo}` at commit {git_commit(self.repo)} (built {built:%Y-%m-%d %H:%M} UTC)")
        parts += [f"`{k}={v}`" for k, v in self.env.items()]
        return ", ".join(parts)

    def __str__(self):
        return self.label


def git_commit(repo):
    try:
        return subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def parse_variant(spec):
    """squid | filterservice | filterservice:LABEL[@REPO][=NAME=VALUE[+NAME=VALUE...]] (bench/load/README.md)."""
    spec = spec.strip()
    if spec in PORTS:
        return Variant(spec)
    kind, colon, rest = spec.partition(":")
    if kind != "filterservice" or not colon:
        raise ValueError(f"{spec!r}: expected squid, filterservice or filterservice:LABEL[@REPO][=NAME=VALUE[+NAME=VALUE...]]")
    head, _, settings = rest.partition("=")
    label, at, repo = head.partition("@")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", label) or label in PORTS:
        raise ValueError(f"{spec!r}: the label {label!r} must be lower-case letters, digits, '.', '_' or '-', and not "
                         f"{' or '.join(PORTS)}")
    if at and not repo:
        raise ValueError(f"{spec!r}: '@' must be followed by a checkout's path")
    env = {}
    for setting in (s for s in settings.split("+") if s) if settings else ():
        name, equals, value = setting.partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{spec!r}: {setting!r} is not NAME=VALUE with NAME an environment variable "
                             "(configuration keys with __ for ':', as Proxy__LeanHttp=false)")
        env[name] = value
    if at and not os.path.isdir(os.path.join(repo, "src/FilterService")):
        raise ValueError(f"{spec!r}: {repo} is not a checkout of this repository (no src/FilterService)")
    return Variant(kind, label, repo if at else REPO, env)


def parse_proxies(text, before=None):
    variants = [parse_variant(spec) for spec in text.split(",") if spec.strip()]
    if before:
        variants.append(parse_variant(f"filterservice:before@{before}"))
    labels = [v.label for v in variants]
    if len(set(labels)) != len(labels):
        raise ValueError(f"each proxy once: {', '.join(labels)}")
    missing = [v.dll for v in variants if v.kind == "filterservice" and not os.path.exists(v.dll)]
    if missing:
        raise ValueError(f"no Release build at {', '.join(missing)}: dotnet build -c Release src/FilterService/FilterService.csproj "
                         "in that checkout first")
    return variants


def as_variant(proxy):
    return proxy if isinstance(proxy, Variant) else parse_variant(proxy)


def pinned(command, cpus):
    """The command under taskset -c CPUS (the process and every thread and child it makes), or as it is."""
    return ["taskset", "-c", cpus, *command] if cpus else command


def cpu_list(text):
    """The CPUs a taskset list names (0,2-3 -> [0, 2, 3]); ValueError if it is not such a list or names a CPU this
    process may not use."""
    cpus = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)(?:-(\d+))?\s*", part)
        if not m:
            raise ValueError(f"{text!r} is not a CPU list such as 0 or 0,1 or 0-3")
        cpus.update(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))
    usable = os.sched_getaffinity(0)
    if not cpus <= usable:
        raise ValueError(f"{text!r} names CPUs this process may not use (it may use {sorted(usable)})")
    return sorted(cpus)


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


def threads(root):
    """(pid, tid) of every thread in the process tree, skipping processes that ended meanwhile."""
    for pid in process_tree(root):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            continue
        for tid in tids:
            yield pid, tid


def thread_ticks(root):
    """{(pid, tid): (thread name, utime+stime ticks)} of every thread in the tree."""
    table = {}
    for pid, tid in threads(root):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        table[(pid, tid)] = (name, int(fields[11]) + int(fields[12]))
    return table


def busiest_thread(before, after):
    """(name, CPU seconds) of the thread that used the most CPU between two thread_ticks() readings."""
    best = ("", 0)
    for key, (name, ticks) in after.items():
        used = ticks - before.get(key, (name, 0))[1]
        if used > best[1]:
            best = (name, used)
    return best[0], best[1] / CLK_TCK


def thread_names(root):
    """{thread name: how many} across the tree: which threads the proxy runs, e.g. {".NET Sockets": 1, "Tunnel loop": 1}."""
    names = {}
    for name, _ in thread_ticks(root).values():
        names[name] = names.get(name, 0) + 1
    return dict(sorted(names.items(), key=lambda kv: (-kv[1], kv[0])))


def cpus_allowed(pid):
    """The CPUs the process may run on, as the kernel states them (Cpus_allowed_list), e.g. '0' or '0-1'."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("Cpus_allowed_list:")), "?")
    except FileNotFoundError:
        return "?"


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
    names, warm_names = prepare_inspection(args, run)
    with open(os.path.join(run, "hosts"), "w") as f:
        f.write(f"127.0.0.1 {PLAIN_HOST} {TLS_HOST}\n")
        f.write("".join(f"127.0.0.1 {name}\n" for name in names + warm_names))

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
    # The inspection suite's policy: the same, with the bench's names inspected, and the same list files (hard links).
    shutil.rmtree(os.path.join(run, "policy-inspect"), ignore_errors=True)
    os.makedirs(os.path.join(run, "policy-inspect/lists"))
    for name in os.listdir(os.path.join(run, "policy/lists")):
        os.link(os.path.join(run, "policy/lists", name), os.path.join(run, "policy-inspect/lists", name))
    with open(os.path.join(HERE, "policy/policy.yaml")) as f, open(os.path.join(run, "policy-inspect/policy.yaml"), "w") as out:
        out.write(f.read() + "\n# Added by loadbench.py for the inspection suite: every name under bump.origin.test is inspected.\n"
                  f"inspection:\n  hosts: [\"{INSPECT_DOMAIN}\", \"*.{INSPECT_DOMAIN}\"]\n")

    substitutions = {"@RUN@": run, "@HTTP_PORT@": str(HTTP_PORT), "@HTTPS_PORT@": str(HTTPS_PORT),
                     "@INSPECT_PORT@": str(INSPECT_PORT), "@SQUID_PORT@": str(PORTS["squid"])}
    for name in ("nginx.conf", "squid.conf", "squid-inspect.conf"):
        with open(os.path.join(HERE, name)) as f:
            text = f.read()
        for key, value in substitutions.items():
            text = text.replace(key, value)
        with open(os.path.join(run, name), "w") as f:
            f.write(text)
    return len(domains), sample[0]


def openssl(*arguments):
    subprocess.run(["openssl", *arguments], check=True, capture_output=True, timeout=60)


def prepare_inspection(args, run):
    """The inspection suite's certificates and names. Two test CAs: the inspection CA both proxies sign their leaves
    with (the client trusts only it), and an origin CA that signs nginx's certificate for each name, one per name as
    distinct sites have (Squid checks them against that CA and mimics each; FilterService pins them all,
    Proxy:UpstreamTrustedCertificates). Returns the measured names (hN, --inspect-hosts of them) and the warm-up
    names (wN). Certificates are kept in the run directory and made only when missing."""
    path = lambda name: os.path.join(run, name)
    for ca, cn in (("inspect-ca", "FilterService bench inspection CA"), ("origin-ca", "FilterService bench origin CA")):
        if not os.path.exists(path(f"{ca}.crt")):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                    "-subj", f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", path(f"{ca}.key"), "-out", path(f"{ca}.crt"))
            os.chmod(path(f"{ca}.key"), 0o600)
            shutil.rmtree(path("origin-certs"), ignore_errors=True)
    names = [f"h{i}.{INSPECT_DOMAIN}" for i in range(args.inspect_hosts)]
    warm_names = [f"w{i}.{INSPECT_DOMAIN}" for i in range(2 * args.connections)]
    os.makedirs(path("origin-certs"), exist_ok=True)
    if not os.path.exists(path("inspect-origin.key")):  # one key for every origin certificate: only the proxies are measured
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", path("inspect-origin.key"))
    missing = [n for n in names + warm_names if not os.path.exists(path(f"origin-certs/{n}.crt"))]
    if missing:
        log(f"making {len(missing)} origin certificates")

    def certificate(name):
        openssl("req", "-x509", "-new", "-key", path("inspect-origin.key"), "-CA", path("origin-ca.crt"), "-CAkey", path("origin-ca.key"),
                "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-addext", "basicConstraints=CA:FALSE",
                "-addext", "extendedKeyUsage=serverAuth", "-days", "30", "-set_serial", str(random.getrandbits(63)),
                "-out", path(f"origin-certs/{name}.crt"))

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(certificate, missing))
    with open(path("inspect-origin-bundle.pem"), "w") as bundle:
        for name in names + warm_names:
            with open(path(f"origin-certs/{name}.crt")) as f:
                bundle.write(f.read())
    for name, hosts in (("inspect-hosts.txt", names), ("inspect-warm-hosts.txt", warm_names)):
        with open(path(name), "w") as f:
            f.write("\n".join(hosts) + "\n")
    return names, warm_names


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

def audit_path(run):
    """FilterService's audit directory (and decision index) in the run directory."""
    return os.path.join(run, "logs", "filterservice")


def proxy_command(proxy, run, inspect=False, squid_format=False, port=None, admin_port=None, audit=None):
    """The proxy's command line; a FilterService on other ports or with another audit directory than the usual ones
    when given (bench/load/paired.py runs two side by side)."""
    proxy = as_variant(proxy)
    if proxy.kind == "squid":
        return ["squid", "-N", "-f", os.path.join(run, "squid-inspect.conf" if inspect else "squid.conf")]
    command = ["dotnet", proxy.dll,
               f"--Proxy:Listen=127.0.0.1:{port or PORTS['filterservice']}", f"--Admin:Listen=127.0.0.1:{admin_port or ADMIN_PORT}",
               f"--Policy:Path={run}/policy", "--Policy:Watch=false", f"--Audit:Path={audit or audit_path(run)}",
               "--Proxy:AllowLoopbackUpstream=true", f"--Proxy:ConnectPorts={HTTPS_PORT}",
               f"--Proxy:HostOverrides:{PLAIN_HOST}=127.0.0.1:{HTTP_PORT}",
               f"--Proxy:HostOverrides:{TLS_HOST}=127.0.0.1:{HTTPS_PORT}"]
    if squid_format:
        command.append("--Audit:SquidFormat=true")
    if inspect:
        command = [c for c in command if not c.startswith(("--Policy:Path=", "--Proxy:ConnectPorts="))]
        command += [f"--Policy:Path={run}/policy-inspect", f"--Proxy:ConnectPorts={INSPECT_PORT}",
                    f"--Proxy:InspectionCaCertificate={run}/inspect-ca.crt", f"--Proxy:InspectionCaKey={run}/inspect-ca.key",
                    f"--Proxy:UpstreamTrustedCertificates={run}/inspect-origin-bundle.pem"]
        for name in (read_lines(os.path.join(run, "inspect-hosts.txt"))
                     + read_lines(os.path.join(run, "inspect-warm-hosts.txt"))):
            command.append(f"--Proxy:HostOverrides:{name}=127.0.0.1:{INSPECT_PORT}")
    return command


def read_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def fresh_certificate_db(run):
    """Squid's leaf database (security_file_certgen's), created empty before every start of the inspecting Squid."""
    db = os.path.join(run, "ssl_db")
    shutil.rmtree(db, ignore_errors=True)
    subprocess.run(["/usr/lib/squid/security_file_certgen", "-c", "-s", db, "-M", "64MB"], check=True, capture_output=True,
                   timeout=30)
    for root, dirs, files in os.walk(db):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            shutil.chown(name, user="proxy")


def start_proxy(proxy, run, timeout, inspect=False, squid_format=False, cpus=None, port=None, admin_port=None, audit=None):
    """Starts the proxy (a Variant, or squid / filterservice), under taskset -c CPUS if given, on its usual ports and
    audit directory or those given (see proxy_command); (Started, seconds to the first answer)."""
    proxy = as_variant(proxy)
    kind, label, port = proxy.kind, proxy.label, port or proxy.port
    if kind == "squid" and inspect:
        fresh_certificate_db(run)
    if kind == "filterservice":
        # Every start with an empty audit directory (and so an empty decision index, which lives in it): the index
        # follows the audit files, so a start on an earlier start's files would spend its steps indexing their backlog,
        # charged to whichever proxy and step came next.
        shutil.rmtree(audit or audit_path(run), ignore_errors=True)
    if http_get_through(port, "http://x/", "x", timeout=0.5) is not None:
        sys.exit(f"port {port} is already in use; stop whatever holds it")
    out = open(os.path.join(run, "logs", f"{label}-console.log"), "ab")
    started_at = time.monotonic()
    process = subprocess.Popen(pinned(proxy_command(proxy, run, inspect, squid_format, port, admin_port, audit), cpus), stdout=out,
                               stderr=subprocess.STDOUT, cwd=proxy.repo, env={**os.environ, **proxy.env})
    started = Started(run, label, process.pid)
    deadline = started_at + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{label} exited with {process.returncode} during start; see {run}/logs/{label}-console.log")
        if http_get_through(port, f"http://{PLAIN_HOST}:{HTTP_PORT}/1k", PLAIN_HOST) == 200:
            return started, time.monotonic() - started_at
        time.sleep(0.02)
    started.stop()
    sys.exit(f"{label} did not answer within {timeout} s")


def start_nginx(run, cpus=None):
    """The origin, from the run directory's nginx.conf, under taskset -c CPUS if given; stop it with SIGQUIT."""
    subprocess.run(pinned(["nginx", "-c", os.path.join(run, "nginx.conf")], cpus), check=True, timeout=30)
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(run, "nginx.pid")) and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(os.path.join(run, "nginx.pid")) as f:
        return Started(run, "nginx", int(f.read().strip()))


def check_same_work(kind, blocked_host, port=None):
    """Both proxies must give the same answers before anything is timed."""
    port = port or PORTS[kind]
    expected = [(f"http://{PLAIN_HOST}:{HTTP_PORT}/1k", PLAIN_HOST, 200),
                (f"http://{blocked_host}/", blocked_host, 403),
                (f"http://www.{blocked_host}/", "www." + blocked_host, 403)]
    for url, host, status in expected:
        got = http_get_through(port, url, host)
        if got != status:
            sys.exit(f"{kind}: GET {url} answered {got}, expected {status}: the two proxies are not doing the same work")


def check_inspecting(kind, run):
    """The inspecting proxy must present a leaf signed by the bench's inspection CA for a bench name, and forward."""
    url = f"https://w0.{INSPECT_DOMAIN}:{INSPECT_PORT}/1k"
    result = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20",
                             "--cacert", os.path.join(run, "inspect-ca.crt"), "--proxy", f"http://127.0.0.1:{PORTS[kind]}", url],
                            capture_output=True, text=True, timeout=30)
    if result.stdout.strip() != "200":
        sys.exit(f"{kind}: {url} through the inspecting proxy gave {result.stdout.strip() or 'nothing'} "
                 f"(curl exit {result.returncode}: {result.stderr.strip()}): the proxy is not inspecting as it should")


# ---------------------------------------------------------------- load steps

def parse_duration_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(kind, script, env, args, raw_path, port=None):
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "--timeout", "10s",
               "-s", os.path.join(HERE, script), f"http://127.0.0.1:{port or PORTS[kind]}"]
    result = subprocess.run(pinned(command, getattr(args, "load_cpus", None)), env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=args.duration + 30)
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


def run_load_client(kind, mode, path, args, raw_path, target=f"{TLS_HOST}:{HTTPS_PORT}", extra=(), port=None):
    dll = os.path.join(REPO, "bench/LoadClient/bin/Release/net10.0/LoadClient.dll")
    command = ["dotnet", dll, mode, "--proxy", f"127.0.0.1:{port or PORTS[kind]}", "--target", target,
               "--path", path, "--connections", str(args.connections), "--duration", str(args.duration), *extra]
    result = subprocess.run(pinned(command, getattr(args, "load_cpus", None)), capture_output=True, text=True,
                            timeout=args.duration + 60)
    with open(raw_path, "w") as f:
        f.write(result.stdout + result.stderr)
    if result.returncode != 0:
        sys.exit(f"LoadClient failed against {kind}: {raw_path}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def load_steps(kind, run, port=None):
    """The four measured steps against one proxy (on its usual port, or on port), in order: name -> run(args, raw_path)
    -> result."""
    plain_env = {"TARGET": f"http://{PLAIN_HOST}:{HTTP_PORT}/1k"}
    blocked_env = {"BLOCKED": os.path.join(run, "blocked-sample.txt")}
    return {
        "plain": lambda a, raw: run_wrk(kind, "plain.lua", plain_env, a, raw, port),
        "blocked": lambda a, raw: run_wrk(kind, "blocked.lua", blocked_env, a, raw, port),
        "tunnels": lambda a, raw: run_load_client(kind, "handshakes", "/1k", a, raw, port=port),
        "downloads": lambda a, raw: run_load_client(kind, "downloads", "/100k", a, raw, port=port),
    }


def inspection_steps(kind, run, hosts_file):
    """The inspection suite's two steps against an inspecting proxy, over the names in hosts_file."""
    target = f"{INSPECT_DOMAIN}:{INSPECT_PORT}"
    trust = ["--ca", os.path.join(run, "inspect-ca.crt")]
    warm_hosts = os.path.join(run, "inspect-warm-hosts.txt")
    return {
        # kept-open tunnels to names whose leaves the warm-up minted: requests only
        "bumped": lambda a, raw: run_load_client(kind, "downloads", "/1k", a, raw, target, [*trust, "--hosts-from", warm_hosts]),
        "inspected": lambda a, raw: run_load_client(kind, "handshakes", "/1k", a, raw, target, [*trust, "--hosts-from", hosts_file]),
    }


def log_sizes(kind, run):
    """Bytes in the proxy's log files now: Squid's access.log; FilterService's audit log (and its Squid-format file)."""
    if kind == "squid":
        files = {"log": [os.path.join(run, "logs/squid-access.log")]}
    else:
        folder = audit_path(run)
        names = os.listdir(folder) if os.path.isdir(folder) else []
        files = {"log": [os.path.join(folder, n) for n in names if n.startswith("audit-")],
                 "squid_format": [os.path.join(folder, n) for n in names if n.startswith("access-")]}
    return {key: sum(os.path.getsize(p) for p in paths if os.path.exists(p)) for key, paths in files.items()}


def scrape(port):
    """FilterService's metrics as {series: value}."""
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def leaf_figures(kind, run, started):
    """What the leaf cache has done so far. FilterService: its lookups by outcome and the minting histogram. Squid:
    the certificates security_file_certgen has written to its database (each a mint) and the CPU its helpers used."""
    if kind == "squid":
        index = os.path.join(run, "ssl_db/index.txt")
        minted = len(read_lines(index)) if os.path.exists(index) else 0
        helper_cpu = 0.0
        for pid in process_tree(started.pid):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().startswith("security_file"):
                        helper_cpu += cpu_seconds(pid)
            except FileNotFoundError:
                pass
        return {"minted": minted, "mint_cpu_s": helper_cpu}
    metrics = scrape(ADMIN_PORT)
    hits = sum(v for k, v in metrics.items() if k.startswith("filterservice_inspection_leaf_cache_lookups_total{") and 'outcome="hit"' in k)
    misses = sum(v for k, v in metrics.items() if k.startswith("filterservice_inspection_leaf_cache_lookups_total{") and 'outcome="miss"' in k)
    mint_count = sum(v for k, v in metrics.items() if k.split("{", 1)[0] == "filterservice_inspection_leaf_mint_duration_seconds_count")
    mint_sum = sum(v for k, v in metrics.items() if k.split("{", 1)[0] == "filterservice_inspection_leaf_mint_duration_seconds_sum")
    return {"hits": hits, "misses": misses, "minted": mint_count, "mint_s": mint_sum}


INDEX_THREAD = "Decision index"  # FilterService's decision indexer (the console's search over the audit log)


def index_ticks(root):
    """CPU ticks used so far by the decision index thread(s) in the tree; None where there is none (Squid)."""
    ticks = [t for name, t in thread_ticks(root).values() if name == INDEX_THREAD]
    return sum(ticks) if ticks else None


def drain_index(root, timeout=240.0, quiet=3.0):
    """Waits until the decision index has caught up with the audit files: its thread used at most 3 ticks over `quiet`
    seconds (more than one pass interval, 2 s). The indexer is paced to half a core at nice 19, so a step's records are
    indexed after the step; draining before and after a step charges each step exactly its own records' indexing, not
    the backlog of the step before (which a faster build makes larger). Returns the seconds waited, None if no index."""
    if index_ticks(root) is None:
        return None
    began = time.monotonic()
    last, last_at = index_ticks(root), began
    while time.monotonic() - began < timeout:
        time.sleep(0.5)
        now = index_ticks(root)
        if now is None:
            return None
        if now - last > 3:
            last, last_at = now, time.monotonic()
        elif time.monotonic() - last_at >= quiet:
            return time.monotonic() - began
    log(f"warning: the decision index did not catch up within {timeout:.0f} s")
    return float("nan")


def charge(result, index_in_step):
    """The request path's figure of a step whose result holds its proxy's cpu_s: the CPU-seconds less what the decision
    index's thread used during the step, and requests per such CPU-second. Returns the request path's CPU-seconds."""
    result["index_in_step_s"] = index_in_step
    result["path_cpu_s"] = path = result["cpu_s"] - index_in_step
    result["per_cpu_s"] = result["completed"] / path if path > 0 else float("nan")
    return path


def measured(started, step, duration, logs=None):
    """Runs one step; its proxy CPU, the proxy cores it used over the step's duration (CPU-seconds / seconds of load)
    and the busiest proxy thread's share, and with logs (a function returning log sizes) how much the logs grew.

    FilterService's decision index is drained first, so the step starts with none of an earlier step's backlog, and
    again after it: index_cpu_s is what indexing this step's records cost wherever it ran. cpu_s splits into the
    request path (every thread but the index: per_cpu_s) and the index's share during the step; all_in_per_cpu_s
    charges the step all of its indexing. Squid has no index: its figures are the same either way."""
    drain_index(started.pid)
    before_logs = logs() if logs else None
    threads = thread_ticks(started.pid)
    index_before = index_ticks(started.pid)
    before = cpu_seconds(started.pid)
    result = step()
    result["cpu_s"] = cpu_seconds(started.pid) - before
    index_after_step = index_ticks(started.pid)
    busiest, busiest_cpu_s = busiest_thread(threads, thread_ticks(started.pid))
    time.sleep(1.5)  # FilterService writes its audit file every second; not counted in the CPU above
    if logs:
        after_logs = logs()
        result["log_bytes"] = {key: after_logs[key] - before_logs.get(key, 0) for key in after_logs}
    index_in_step = index_cpu = 0.0
    if index_before is not None:
        result["index_drain_s"] = drain_index(started.pid)
        index_in_step = (index_after_step - index_before) / CLK_TCK
        index_cpu = (index_ticks(started.pid) - index_before) / CLK_TCK
    result["index_cpu_s"] = index_cpu
    path = charge(result, index_in_step)
    result["all_in_per_cpu_s"] = result["completed"] / (path + index_cpu) if path + index_cpu > 0 else float("nan")
    result["index_us_per_request"] = 1e6 * index_cpu / result["completed"] if result["completed"] else float("nan")
    result["cores"] = result["cpu_s"] / duration
    result["busiest_thread"] = {"name": busiest, "cores": busiest_cpu_s / duration}
    return result


def one_proxy(proxy, round_no, run, args, blocked_host):
    """One round of one proxy (a Variant): the plain, blocked and tunnels suites on one start, then the inspection suite
    on a second start of the same proxy configured to inspect."""
    kind, label = proxy.kind, proxy.label
    result = {"round": round_no, "proxy": label, "kind": kind}
    base = [step for suite in args.suites if suite != "inspection" for step in SUITES[suite]]
    raw = lambda step: os.path.join(run, "raw", f"{round_no}-{label}-{step}.txt")
    logs = lambda: log_sizes(kind, run)
    start = lambda inspect: start_proxy(proxy, run, args.start_timeout, inspect=inspect, squid_format=args.audit_squid_format,
                                        cpus=args.proxy_cpus)
    if base:
        log(f"round {round_no}: {label}: starting")
        started, startup = start(False)
        try:
            time.sleep(2)
            result.update(startup_s=startup, rss_start_mb=rss_mb(started.pid), cpus_allowed=cpus_allowed(started.pid))
            check_same_work(kind, blocked_host)
            steps = {step: go for step, go in load_steps(kind, run).items() if step in base}
            # Warm every path first (both proxies alike): .NET compiles hot methods again, optimised, in the first seconds.
            warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
            for step, go in steps.items():
                go(warm, raw("warmup-" + step))
            for step, go in steps.items():
                result[step] = measured(started, lambda: go(args, raw(step)), args.duration,
                                        logs if step in LOGGED_STEPS else None)
            result["rss_load_mb"] = rss_mb(started.pid)
            result["threads"] = thread_names(started.pid)
            # Again once a full period of FilterService's memory trimmer (10 s) has passed with no load: the reading
            # above lands anywhere in that period, so it carries up to one period's unreturned memory.
            time.sleep(RSS_SETTLE_S)
            result["rss_settled_mb"] = rss_mb(started.pid)
        finally:
            started.stop()
    if "inspection" in args.suites:
        log(f"round {round_no}: {label}: starting, inspecting")
        started, startup = start(True)
        try:
            time.sleep(2)
            result.update(inspect_startup_s=startup, rss_inspect_start_mb=rss_mb(started.pid), cpus_allowed=cpus_allowed(started.pid))
            check_same_work(kind, blocked_host)
            check_inspecting(kind, run)
            warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
            for step, go in inspection_steps(kind, run, os.path.join(run, "inspect-warm-hosts.txt")).items():
                go(warm, raw("warmup-" + step))
            steps = inspection_steps(kind, run, os.path.join(run, "inspect-hosts.txt"))
            result["bumped"] = measured(started, lambda: steps["bumped"](args, raw("bumped")), args.duration, logs)
            leaf_before = leaf_figures(kind, run, started)
            result["inspected"] = measured(started, lambda: steps["inspected"](args, raw("inspected")), args.duration, logs)
            leaf_after = leaf_figures(kind, run, started)
            result["leaf"] = {key: leaf_after[key] - leaf_before[key] for key in leaf_after}
            result["rss_inspect_load_mb"] = rss_mb(started.pid)
        finally:
            started.stop()
    for step in (s for suite in args.suites for s in SUITES[suite]):
        r = result[step]
        log(f"round {round_no}: {label}: {step}: {r['rate']:.0f}/s, {r['per_cpu_s']:.0f} per CPU-s, p99 {r['p99_ms']:.2f} ms, "
            f"{r['cores']:.2f} proxy cores (busiest thread {r['busiest_thread']['cores']:.2f}, {r['busiest_thread']['name']})"
            + (f", log {r['log_bytes']['log'] / max(1, r['completed']):.0f} bytes per request" if "log_bytes" in r else "")
            + (f"; decision index {r['index_cpu_s']:.2f} CPU-s ({r['index_in_step_s']:.2f} in the step, caught up "
               f"{r['index_drain_s']:.0f} s after), {r['all_in_per_cpu_s']:.0f} per CPU-s with it" if r.get("index_drain_s") is not None else ""))
    if "leaf" in result:
        log(f"round {round_no}: {label}: leaves: {leaf_summary(kind, result)}")
    if "startup_s" in result:
        log(f"round {round_no}: {label}: startup {result['startup_s']:.2f} s, RSS {result['rss_start_mb']:.0f} MB after start, "
            f"{result['rss_load_mb']:.0f} MB after load")
    return result


def leaf_hit_rate(kind, result):
    leaf, completed = result["leaf"], result["inspected"]["completed"]
    if kind == "squid":  # every tunnel needs a leaf; those its memory cache or database did not have were minted
        return max(0.0, 1 - leaf["minted"] / completed) if completed else float("nan")
    looked_up = leaf["hits"] + leaf["misses"]
    return leaf["hits"] / looked_up if looked_up else float("nan")


def leaf_mint_ms(kind, result):
    leaf = result["leaf"]
    if not leaf["minted"]:
        return float("nan")
    return 1000 * (leaf["mint_cpu_s"] if kind == "squid" else leaf["mint_s"]) / leaf["minted"]


def leaf_summary(kind, result):
    return (f"{result['leaf']['minted']:.0f} minted, hit rate {100 * leaf_hit_rate(kind, result):.1f}%, "
            f"{leaf_mint_ms(kind, result):.2f} ms per mint ({'helper CPU' if kind == 'squid' else 'wall time'})")


def check_result(result):
    """A step that did not do what it should invalidates the run rather than flattering a proxy."""
    problems = []
    if "plain" in result and (result["plain"]["non2xx"] or result["plain"]["socket_errors"]):
        problems.append(f"plain: {result['plain']['non2xx']} non-2xx, {result['plain']['socket_errors']} socket errors")
    if "blocked" in result and result["blocked"]["non2xx"] != result["blocked"]["completed"]:
        problems.append(f"blocked: only {result['blocked']['non2xx']} of {result['blocked']['completed']} were refused")
    for step in ("tunnels", "downloads", "bumped", "inspected"):
        if step in result and result[step]["errors"]:
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
        "openssl": command_output(["openssl", "version"]).strip(),
        "squid_package": " ".join(command_output(["dpkg-query", "-W", "squid-openssl"]).split()) or "squid-openssl not installed",
        "commit": command_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).strip(),
    }


def median(results, kind, getter):
    return statistics.median(getter(r) for r in results if r["proxy"] == kind)


def available(results, getter):
    """Whether every round has this figure (a run of some suites only has some)."""
    try:
        for r in results:
            getter(r)
        return True
    except KeyError:
        return False


def log_per_request(step, key="log"):
    return lambda r: r[step]["log_bytes"][key] / r[step]["completed"]


def write_report(results, args, machine, list_size, loads, started_utc, path):
    def squid_format(r):
        if not args.audit_squid_format:
            raise KeyError("squid_format")  # not written: no row
        return r["plain"]["log_bytes"]["squid_format" if r["kind"] == "filterservice" else "log"]
    def cores(step, title):
        """With --proxy-cpus: beside a step's rate, the proxy cores it used and its busiest thread's share."""
        if not args.proxy_cpus:
            return []
        return [(f"{title}, proxy cores used (CPU-s / s)", lambda r: r[step]["cores"], "{:.2f}", None),
                (f"{title}, busiest proxy thread (cores)", lambda r: r[step]["busiest_thread"]["cores"], "{:.2f}", None)]
    rows = [
        ("Plain HTTP, requests/s", lambda r: r["plain"]["rate"], "{:,.0f}", True),
        *cores("plain", "Plain HTTP"),
        ("Plain HTTP, requests per proxy CPU-second", lambda r: r["plain"]["per_cpu_s"], "{:,.0f}", True),
        ("Plain HTTP, requests per proxy CPU-second with their decision indexing", lambda r: r["plain"]["all_in_per_cpu_s"], "{:,.0f}", True),
        ("Plain HTTP, p50 latency (ms)", lambda r: r["plain"]["p50_ms"], "{:.2f}", False),
        ("Plain HTTP, p99 latency (ms)", lambda r: r["plain"]["p99_ms"], "{:.2f}", False),
        ("Blocked, requests/s", lambda r: r["blocked"]["rate"], "{:,.0f}", True),
        *cores("blocked", "Blocked"),
        ("Blocked, requests per proxy CPU-second", lambda r: r["blocked"]["per_cpu_s"], "{:,.0f}", True),
        ("Blocked, requests per proxy CPU-second with their decision indexing", lambda r: r["blocked"]["all_in_per_cpu_s"], "{:,.0f}", True),
        ("Blocked, p99 latency (ms)", lambda r: r["blocked"]["p99_ms"], "{:.2f}", False),
        ("New TLS tunnels/s", lambda r: r["tunnels"]["rate"], "{:,.0f}", True),
        *cores("tunnels", "New TLS tunnels"),
        ("New TLS tunnels per proxy CPU-second", lambda r: r["tunnels"]["per_cpu_s"], "{:,.0f}", True),
        ("New TLS tunnels per proxy CPU-second with their decision indexing", lambda r: r["tunnels"]["all_in_per_cpu_s"], "{:,.0f}", True),
        ("New TLS tunnels, p99 (ms)", lambda r: r["tunnels"]["p99_ms"], "{:.2f}", False),
        ("100 KB downloads/s through tunnels", lambda r: r["downloads"]["rate"], "{:,.0f}", True),
        *cores("downloads", "100 KB downloads"),
        ("100 KB downloads per proxy CPU-second", lambda r: r["downloads"]["per_cpu_s"], "{:,.0f}", True),
        ("100 KB downloads per proxy CPU-second with their decision indexing", lambda r: r["downloads"]["all_in_per_cpu_s"], "{:,.0f}", True),
        ("100 KB downloads, p99 (ms)", lambda r: r["downloads"]["p99_ms"], "{:.2f}", False),
        ("Bumped requests/s (kept-open inspected tunnels)", lambda r: r["bumped"]["rate"], "{:,.0f}", True),
        *cores("bumped", "Bumped requests"),
        ("Bumped requests per proxy CPU-second", lambda r: r["bumped"]["per_cpu_s"], "{:,.0f}", True),
        ("Bumped requests per proxy CPU-second with their decision indexing", lambda r: r["bumped"]["all_in_per_cpu_s"], "{:,.0f}", True),
        ("Bumped requests, p99 (ms)", lambda r: r["bumped"]["p99_ms"], "{:.2f}", False),
        ("New inspected tunnels/s", lambda r: r["inspected"]["rate"], "{:,.0f}", True),
        *cores("inspected", "New inspected tunnels"),
        ("New inspected tunnels per proxy CPU-second", lambda r: r["inspected"]["per_cpu_s"], "{:,.0f}", True),
        ("New inspected tunnels per proxy CPU-second with their decision indexing", lambda r: r["inspected"]["all_in_per_cpu_s"], "{:,.0f}", True),
        ("New inspected tunnels, p99 (ms)", lambda r: r["inspected"]["p99_ms"], "{:.2f}", False),
        ("Inspected tunnels: leaves minted in the step", lambda r: r["leaf"]["minted"], "{:,.0f}", None),
        ("Inspected tunnels: leaf cache hit rate (%)", lambda r: 100 * leaf_hit_rate(r["kind"], r), "{:.1f}", None),
        ("Leaf minting, ms per leaf (Squid: its helper's CPU; ours: wall time)", lambda r: leaf_mint_ms(r["kind"], r), "{:.2f}", None),
        ("Log bytes per request, plain HTTP (Squid: access.log; ours: audit log)", log_per_request("plain"), "{:,.0f}", False),
        ("Log bytes per request, blocked", log_per_request("blocked"), "{:,.0f}", False),
        ("Log bytes per bumped request", log_per_request("bumped"), "{:,.0f}", False),
        ("Log bytes per new inspected tunnel (CONNECT and GET)", log_per_request("inspected"), "{:,.0f}", False),
        ("Squid-format log bytes per request, plain HTTP (ours: Audit:SquidFormat)",
         lambda r: squid_format(r) / r["plain"]["completed"], "{:,.0f}", False),
        ("Decision indexing, CPU us per plain HTTP request", lambda r: r["plain"]["index_us_per_request"], "{:.1f}", None),
        ("Decision indexing, CPU us per blocked request", lambda r: r["blocked"]["index_us_per_request"], "{:.1f}", None),
        ("Proxy CPU during plain HTTP (cores)", lambda r: r["plain"]["cpu_s"] / args.duration, "{:.2f}", None),
        ("RSS after start (MB)", lambda r: r["rss_start_mb"], "{:.0f}", False),
        ("RSS after load (MB)", lambda r: r["rss_load_mb"], "{:.0f}", False),
        (f"RSS {RSS_SETTLE_S} s after load (MB)", lambda r: r["rss_settled_mb"], "{:.0f}", False),
        ("RSS after the inspection suite (MB)", lambda r: r["rss_inspect_load_mb"], "{:.0f}", False),
        ("Start-up to first answer (s)", lambda r: r["startup_s"], "{:.2f}", False),
    ]
    rounds = max(r["round"] for r in results)
    variants = args.variants
    labels = [v.label for v in variants]
    names = {v.label: v.name for v in variants}
    reference = "filterservice" if "filterservice" in labels else None
    others = [v for v in variants if v.kind == "filterservice" and v.label != "filterservice"]

    def ratio(better, worse, higher_better):
        """better over worse, oriented so that above 1 means `better` is better; empty where no ratio means anything."""
        if higher_better is None or not better or not worse:
            return ""
        return f"{(better / worse if higher_better else worse / better):.2f}x"

    # The columns: Squid, FilterService and their ratio, as ever; then each variant and FilterService over it.
    columns = []  # (heading, function of a row's getter, higher_better and format -> cell)
    if "squid" in labels:
        columns.append(("Squid", lambda g, hb, fmt: fmt.format(median(results, "squid", g))))
    if reference:
        columns.append(("FilterService", lambda g, hb, fmt: fmt.format(median(results, reference, g))))
    if "squid" in labels and reference:
        columns.append(("ratio", lambda g, hb, fmt: ratio(median(results, reference, g), median(results, "squid", g), hb)))
    for v in others:
        columns.append((v.name, lambda g, hb, fmt, v=v: fmt.format(median(results, v.label, g))))
        if reference:
            columns.append((f"FilterService / {v.name}",
                            lambda g, hb, fmt, v=v: ratio(median(results, reference, g), median(results, v.label, g), hb)))
    lines = [
        f"# Load benchmark: FilterService against Squid",
        "",
        f"`bench/load/run` on {started_utc:%Y-%m-%d %H:%M} UTC, commit {machine['commit']}: {rounds} round{'s' if rounds > 1 else ''} "
        f"(each proxy started fresh every round, the order alternating), {args.duration} s per step after "
        f"{args.warmup} s of warm-up per step, {args.connections} connections; suites {', '.join(args.suites)}. "
        "Medians of the rounds; the ratio is FilterService over Squid, oriented so that above 1 means FilterService is "
        "better.",
    ]
    if others:
        lines += [
            "",
            "Variants of FilterService, each started and measured exactly as FilterService (the same port, checks and "
            "steps, in the same alternating order): " + "; ".join(f"**{v.name}**: {v.describe() or 'no changes'}" for v in others)
            + ". Each variant's column is followed by FilterService over that variant, oriented the same way: above 1 "
            "means FilterService as built in this checkout does better than the variant.",
        ]
    if args.proxy_cpus:
        allowed = sorted(set(r.get("cpus_allowed", "?") for r in results))
        lines += [
            "",
            f"Pinned: every proxy (Squid and FilterService{', and each variant' if others else ''}) ran under "
            f"`taskset -c {args.proxy_cpus}`, {len(cpu_list(args.proxy_cpus))} of the machine's {machine['cores']} cores "
            f"(the kernel's Cpus_allowed_list of each start: {', '.join(allowed)}). .NET's Environment.ProcessorCount "
            "follows the mask, so FilterService sized its socket threads and thread pool for those cores. "
            + (f"The load generators and nginx ran under `taskset -c {args.load_cpus}`. " if args.load_cpus else
               "The load generators and nginx were not pinned and shared every core with the proxy. ")
            + "Proxy cores used is the proxy's CPU-seconds over the step's seconds of load; near the pinned count, the "
            "proxy was CPU-bound there; a busiest thread near 1.00 is one thread capping the throughput.",
            "",
        ]
        for v in variants:
            first = next((r for r in results if r["proxy"] == v.label and "threads" in r), None)
            if first:
                lines.append(f"- {v.name}'s threads after the load, round {first['round']}: "
                             + ", ".join(f"{name} {count}" for name, count in first["threads"].items()))
    lines += [
        "",
        "| | " + " | ".join(c[0] for c in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for label, getter, fmt, higher_better in rows:
        if not available(results, getter):
            continue
        lines.append(f"| {label} | " + " | ".join(cell(getter, higher_better, fmt) for _, cell in columns) + " |")
    if reference and others:
        lines += variants_section(results, rows, reference, others)
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
        "- Inspection (a second start of each proxy): both inspect every name under `bump.origin.test` with leaves "
        "signed by one bench inspection CA (Squid: `ssl_bump peek` then `bump`, leaves from `security_file_certgen` "
        "with a fresh database each start, `bench/load/squid-inspect.conf`; FilterService: `Proxy:InspectionCaCertificate` "
        "and an `inspection: hosts` section). The origin is nginx with a certificate from a separate bench origin CA; "
        "LoadClient trusts only the inspection CA and checks each leaf's chain and name. Bumped: 1 KB GETs over 50 "
        "kept-open inspected tunnels. New inspected tunnels: each a new CONNECT, TLS handshake with the proxy's leaf "
        f"and one 1 KB GET, to {args.inspect_hosts:,} names in turn that the warm-up did not use, so the first pass "
        "mints and later passes hit the cache. Leaves: FilterService's `filterservice_inspection_leaf_*` metrics; "
        "Squid's certificates written to its database and its helpers' CPU.",
        "- Log bytes: growth of each proxy's log files over the step divided by the requests completed "
        "(a new inspected tunnel is one operation and two records: CONNECT and GET).",
        "- CPU: utime+stime of the proxy's process tree from `/proc/PID/stat` around each step. The load generator, "
        "nginx and the proxy share the same cores, so requests/s is bounded by the machine; requests per proxy "
        "CPU-second is the figure that compares the proxies.",
        "- Per proxy CPU-second is the request path: every proxy thread but FilterService's decision index (the "
        "console's search over the audit log, a thread of its own at nice 19 paced to half a core, which indexes a "
        "step's records mostly after the step). Before each step and after it the bench waits until the index has "
        "caught up, so no step carries another's backlog; *with their decision indexing* charges each step the index "
        "thread's CPU for that step's records wherever it ran, and *decision indexing, CPU us per request* is that cost "
        "alone. Squid has no such index (nearest is a log analyser run from cron): its two figures are the same.",
        "- RSS: VmRSS of the process tree. Start-up: from exec to the first 200 through the proxy, polled every 20 ms.",
        "",
        "## Machine",
        "",
        f"- {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, {machine['os']}, kernel {machine['kernel']}",
        f"- {machine['squid']} ({machine['squid_package']}); {machine['nginx']}; {machine['wrk']}; {machine['openssl']}; "
        f".NET SDK {machine['dotnet']}",
        f"- load average before the run {loads[0]}, after {loads[1]}",
        "",
        "## Every round",
        "",
    ]
    step_cores = lambda step: (f"{step} cores", lambda r: r[step]["cores"], "{:.2f}")  # proxy CPU-s / s, beside the rate
    columns = [("plain/s", lambda r: r["plain"]["rate"], "{:,.0f}"), step_cores("plain"),
               ("plain/CPU-s", lambda r: r["plain"]["per_cpu_s"], "{:,.0f}"),
               ("p99 ms", lambda r: r["plain"]["p99_ms"], "{:.2f}"),
               ("blocked/s", lambda r: r["blocked"]["rate"], "{:,.0f}"), step_cores("blocked"),
               ("blocked/CPU-s", lambda r: r["blocked"]["per_cpu_s"], "{:,.0f}"),
               ("blocked all-in/CPU-s", lambda r: r["blocked"]["all_in_per_cpu_s"], "{:,.0f}"),
               ("blocked index us/req", lambda r: r["blocked"]["index_us_per_request"], "{:.1f}"),
               ("tunnels/s", lambda r: r["tunnels"]["rate"], "{:,.0f}"), step_cores("tunnels"),
               ("tunnels/CPU-s", lambda r: r["tunnels"]["per_cpu_s"], "{:,.0f}"),
               ("100 KB/s", lambda r: r["downloads"]["rate"], "{:,.0f}"), ("100 KB cores", lambda r: r["downloads"]["cores"], "{:.2f}"),
               ("100 KB/CPU-s", lambda r: r["downloads"]["per_cpu_s"], "{:,.0f}"),
               ("bumped/s", lambda r: r["bumped"]["rate"], "{:,.0f}"), step_cores("bumped"),
               ("bumped/CPU-s", lambda r: r["bumped"]["per_cpu_s"], "{:,.0f}"),
               ("inspected/s", lambda r: r["inspected"]["rate"], "{:,.0f}"), step_cores("inspected"),
               ("inspected/CPU-s", lambda r: r["inspected"]["per_cpu_s"], "{:,.0f}"),
               ("leaf hits %", lambda r: 100 * leaf_hit_rate(r["kind"], r), "{:.1f}"),
               ("RSS start MB", lambda r: r["rss_start_mb"], "{:.0f}"), ("RSS load MB", lambda r: r["rss_load_mb"], "{:.0f}"),
               (f"RSS +{RSS_SETTLE_S} s MB", lambda r: r["rss_settled_mb"], "{:.0f}"),
               ("start s", lambda r: r["startup_s"], "{:.2f}")]
    columns = [c for c in columns if available(results, c[1])]
    lines += ["| round | proxy | " + " | ".join(c[0] for c in columns) + " |", "|---|---|" + "---:|" * len(columns)]
    for r in results:
        lines.append(f"| {r['round']} | {names[r['proxy']]} | " + " | ".join(fmt.format(get(r)) for _, get, fmt in columns) + " |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    described = [{"label": v.label, "kind": v.kind, "repo": v.repo, "commit": git_commit(v.repo), "env": v.env} for v in variants]
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump({"machine": machine, "args": {k: v for k, v in vars(args).items() if k != "variants"}, "variants": described,
                   "results": results}, f, indent=1)
    return lines


def ratio_text(a, b):
    return f"{a / b:.2f}x" if b else "-"


def variants_section(results, rows, reference, others):
    """What each variant costs against FilterService per proxy CPU-second: the medians, the ratio of the medians, and the
    ratio in each round (the two ran in the same round, one after the other, so a round's ratio is a paired one)."""
    lines = [
        "",
        "## What the variants change, per proxy CPU-second",
        "",
        "FilterService over each variant: the ratio of the medians, and each round's own ratio (FilterService and the "
        "variant ran in the same round, one after the other). Above 1, FilterService as built does more work per CPU-second "
        "than the variant. Issue 16 keeps a fast path only where a committed run shows it buys at least 10% (1.10x).",
        "",
        "| per proxy CPU-second | variant | FilterService | variant's | FilterService / variant | each round |",
        "|---|---|---:|---:|---:|---|",
    ]
    for label, getter, fmt, _ in rows:
        if "per proxy CPU-second" not in label or not available(results, getter):
            continue
        for v in others:
            ours, theirs = median(results, reference, getter), median(results, v.label, getter)
            paired = []
            for round_no in sorted(set(r["round"] for r in results)):
                a = [getter(r) for r in results if r["round"] == round_no and r["proxy"] == reference]
                b = [getter(r) for r in results if r["round"] == round_no and r["proxy"] == v.label]
                if a and b:
                    paired.append(ratio_text(a[0], b[0]))
            lines.append(f"| {label.replace(' per proxy CPU-second', '').replace(', requests', '')} | {v.name} | "
                         f"{fmt.format(ours)} | {fmt.format(theirs)} | {ratio_text(ours, theirs)} | {', '.join(paired)} |")
    return lines


def update_readme(table_lines):
    """Copies the summary table's first four columns (the figure, Squid, FilterService, their ratio) into README.md."""
    readme = os.path.join(REPO, "README.md")
    with open(readme) as f:
        text = f.read()
    begin, end = "<!-- load-benchmark:begin -->", "<!-- load-benchmark:end -->"
    if begin not in text:
        return
    first = next(i for i, line in enumerate(table_lines) if line.startswith("|"))
    table = []
    for line in table_lines[first:]:  # the summary table only
        if not line.startswith("|"):
            break
        table.append("|".join(line.split("|")[:5]) + "|")
    head, rest = text.split(begin, 1)
    text = head + begin + "\n" + "\n".join(table) + "\n" + end + rest.split(end, 1)[1]
    with open(readme, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, help="rounds, each proxy started fresh in each (default 3; 1 with --quick)")
    parser.add_argument("--duration", type=int, help="seconds per measured step (default 10; 3 with --quick)")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up load per step after each start (default 5; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="short steps and one round: proves the harness works, not a result")
    parser.add_argument("--suites", default=",".join(SUITES),
                        help=f"comma-separated, of {', '.join(SUITES)} (tunnels includes the 100 KB downloads)")
    parser.add_argument("--inspect-hosts", type=int,
                        help="distinct names the new-inspected-tunnels step cycles through, all new to the proxy "
                        "(default 500; 100 with --quick, so that its short step comes round to names already minted)")
    parser.add_argument("--audit-squid-format", action="store_true",
                        help="FilterService also writes Squid's format (Audit:SquidFormat), reported beside its audit log")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--start-timeout", type=int, default=180)
    parser.add_argument("--run-dir", default="/tmp/filterservice-loadbench")
    parser.add_argument("--bench-data", default=os.environ.get("BENCH_DATA", os.path.join(REPO, "..", "shared/data/bench")))
    parser.add_argument("--out", help="the report (and .json beside it); default bench/results/load.md, with --quick RUN/load-quick.md")
    parser.add_argument("--proxies", default="squid,filterservice",
                        help="comma-separated, each its own column, started and measured alike in alternating order: squid, "
                        "filterservice, and variants filterservice:LABEL[@REPO][=NAME=VALUE[+NAME=VALUE...]], e.g. "
                        "filterservice:lean-off=Proxy__LeanHttp=false or filterservice:before@/work/wt-before (that checkout's "
                        "Release build); NAME=VALUE are environment variables for the process")
    parser.add_argument("--before", metavar="DIR",
                        help="adds the variant filterservice:before@DIR: another checkout's Release build, for a before/after "
                        "comparison in one run")
    parser.add_argument("--proxy-cpus", metavar="LIST",
                        help="run every proxy (Squid and FilterService alike) under taskset -c LIST, e.g. 0 or 0,1; the report "
                        "then gives each step's proxy cores used and its busiest thread")
    parser.add_argument("--load-cpus", metavar="LIST",
                        help="run the load generators (wrk, LoadClient) and nginx under taskset -c LIST (default: not pinned)")
    parser.add_argument("--no-readme", action="store_true", help="do not copy the table into README.md")
    args = parser.parse_args()
    defaults = {"rounds": (3, 1), "duration": (10, 3), "warmup": (5, 2), "inspect_hosts": (500, 100)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    args.suites = [suite.strip() for suite in args.suites.split(",") if suite.strip()]
    unknown = [suite for suite in args.suites if suite not in SUITES]
    if unknown or not args.suites:
        parser.error(f"--suites: unknown {unknown}; choose from {', '.join(SUITES)}")
    args.suites = [suite for suite in SUITES if suite in args.suites]  # always in the same order
    try:
        args.variants = parse_proxies(args.proxies, args.before)
        for option in ("proxy_cpus", "load_cpus"):
            if getattr(args, option):
                cpu_list(getattr(args, option))
    except ValueError as problem:
        parser.error(str(problem))
    if args.quick:
        args.no_readme = True  # a quick run proves the harness; its figures are not a result
    if args.proxy_cpus or args.load_cpus:
        args.no_readme = True  # README.md's table is the unpinned comparison
    if args.out is None:
        pinning = f"-cpus-{args.proxy_cpus.replace(',', '_')}" if args.proxy_cpus else ""
        args.out = (os.path.join(os.path.abspath(args.run_dir), f"load-quick{pinning}.md") if args.quick
                    else os.path.join(REPO, f"bench/results/load{pinning}.md"))

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
        nginx = start_nginx(run, args.load_cpus)
        proxies = args.variants
        for v in proxies:
            if v.label != v.kind:
                log(f"variant {v.label}: {v.describe() or 'no changes'}")
        if args.proxy_cpus:
            log(f"proxies pinned: taskset -c {args.proxy_cpus}")
        results = []
        for round_no in range(1, args.rounds + 1):
            order = proxies if round_no % 2 == 1 else list(reversed(proxies))
            for proxy in order:
                result = one_proxy(proxy, round_no, run, args, blocked_host)
                problems = check_result(result)
                if problems:
                    sys.exit(f"round {round_no}, {proxy.label}: " + "; ".join(problems))
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
    if not args.no_readme and {"squid", "filterservice"} <= {v.label for v in args.variants}:
        update_readme(lines)
    print("\n".join(lines))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
