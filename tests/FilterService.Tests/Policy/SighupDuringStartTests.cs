using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Policy;

/// <summary>
/// A SIGHUP while the service is still starting (a logrotate postrotate, a <c>systemctl reload</c> racing a restart)
/// used to end the process: nothing handled SIGHUP until the policy watcher started, after the lists had loaded. The
/// service process is started under a launcher that sends SIGHUP at a moment that is certainly inside start-up: while
/// the service has a large list open, reading it.
/// </summary>
public sealed class SighupDuringStartTests
{
    // Runs the service as its child; sends it one SIGHUP as soon as it has the file in HUP_WHEN_OPEN open (polled every
    // millisecond in /proc), says so on stderr, and passes SIGTERM and SIGINT on so the test can stop it.
    private const string HupWhileReading = """
        import os, signal, subprocess, sys, time
        child = subprocess.Popen(sys.argv[1:])
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, lambda n, _: child.send_signal(n))
        target, sent, deadline = os.environ["HUP_WHEN_OPEN"], False, time.monotonic() + 120
        while not sent and child.poll() is None and time.monotonic() < deadline:
            try:
                fds = os.listdir(f"/proc/{child.pid}/fd")
            except FileNotFoundError:
                break
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{child.pid}/fd/{fd}") == target:
                        os.kill(child.pid, signal.SIGHUP)
                        sent = True
                        print(f"launcher: SIGHUP sent while the service had {target} open", file=sys.stderr, flush=True)
                        break
                except OSError:
                    pass
            time.sleep(0.001)
        if not sent:
            print("launcher: the list was never seen open; no SIGHUP sent", file=sys.stderr, flush=True)
        code = child.wait()
        sys.exit(code if code >= 0 else 128 - code)
        """;

    [Fact]
    public async Task SighupWhileTheListsLoad_DoesNotEndTheService_AndIsNotLost_TheWatcherReloadsOnceForIt()
    {
        var dir = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        var list = Path.Combine(dir, "lists", "social-extra.txt");
        // Large enough that reading it takes a while: the launcher's poll finds it open.
        using (var writer = new StreamWriter(list, append: true))
        {
            for (int i = 0; i < 400_000; i++)
            {
                writer.Write("social-");
                writer.Write(i);
                writer.Write(".sighup-start.test\n");
            }
        }

        await using var service = await ServiceProcess.StartAsync(
            [$"--Policy:Path={dir}", $"--Audit:Path={Directory.CreateTempSubdirectory("audit-").FullName}"],
            environment: new Dictionary<string, string> { ["HUP_WHEN_OPEN"] = list },
            launcher: ["python3", "-c", HupWhileReading]);

        Assert.Contains($"launcher: SIGHUP sent while the service had {list} open", service.Output);
        Assert.True(await service.WaitForOutputAsync("Policy reloaded (SIGHUP during start-up)", TimeSpan.FromSeconds(30)), service.Output);
        Assert.False(service.HasExited, service.Output);
        using var client = new HttpClient(new HttpClientHandler { Proxy = new System.Net.WebProxy(service.Proxy), UseProxy = true });
        using var response = await client.GetAsync("http://blocked-terror.test/");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, response.StatusCode);
    }
}
