using System.Net;
using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

/// <summary>
/// Issue 20: the container runs as a non-root user on a read-only root with only its state and log directories
/// writable (deploy/container/Dockerfile, deploy/kubernetes). No Docker daemon here: the published output (the Debian
/// package's self-contained tree) runs in the same layout under bubblewrap (TestSupport/ReadOnlyRoot.cs), with the
/// container's own settings file, and answers /health (its health command too) and through the proxy.
/// </summary>
public sealed class ReadOnlyRootTests
{
    [RootFact("bwrap mounts the read-only root and setpriv drops to uid 1654")]
    public async Task PublishedOutput_AsUid1654OnAReadOnlyRoot_AnswersHealthAndThroughTheProxy_WritesOnlyStateAndLog()
    {
        var sandbox = await SandboxAsync();
        await using var origin = await TestOrigin.StartAsync();
        await using (var service = await ServiceProcess.StartAsync(
            ["--Proxy:AllowLoopbackUpstream=true", $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{origin.HttpPort}"],
            launcher: sandbox.Launcher(), executable: "/app/FilterService"))
        {
            using var client = new HttpClient();
            var health = JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/health")).RootElement;
            Assert.Equal("ok", health.GetProperty("status").GetString());
            Assert.Equal("/etc/school-filter/policy", health.GetProperty("policy").GetProperty("directory").GetString());
            Assert.True(health.GetProperty("audit").GetProperty("writable").GetBoolean());

            var allowed = await Curl.RunAsync("--proxy", service.Proxy, "http://allowed.test/hello");
            Assert.Equal(200, allowed.HttpCode);
            await using var raw = await RawClient.ConnectAsync(new(IPAddress.Loopback, service.ProxyPort));
            await raw.SendAsync("GET http://blocked-terror.test/ HTTP/1.1\r\nHost: blocked-terror.test\r\n\r\n");
            var (text, _) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10), t => t.Contains("</html>"));
            Assert.StartsWith("HTTP/1.1 403", text);
            await AuditFiles.WaitForAsync(sandbox.Log, r => r.Str("url")?.Contains("blocked-terror.test") == true, "the blocked request's audit record");
            // The image's HEALTHCHECK, in the same sandbox: the binary's own health command (no curl in a chiseled image).
            var launcher = sandbox.Launcher();
            var (healthCode, healthOutput) = await Command.RunAsync(TimeSpan.FromSeconds(60), launcher[0],
                [.. launcher.Skip(1), "/app/FilterService", "health", "--url", $"http://127.0.0.1:{service.AdminPort}/health"]);
            Assert.True(healthCode == 0, healthOutput);
            Assert.StartsWith("ok: policy ", healthOutput);
            Assert.False(service.Output.Contains("Read-only file system"), service.Output);
            Assert.DoesNotContain("denied", service.Output);
        }
        // What it wrote (the audit log, the alert outbox with the terrorism alert) is uid 1654's, and only in the two directories.
        Assert.True(File.Exists(Path.Combine(sandbox.State, "alerts-outbox", "outbox.jsonl")));
        foreach (var path in Directory.GetFileSystemEntries(sandbox.State, "*", SearchOption.AllDirectories)
                     .Concat(Directory.GetFileSystemEntries(sandbox.Log, "*", SearchOption.AllDirectories)))
        {
            var (_, owner) = await Command.RunAsync(TimeSpan.FromSeconds(10), "stat", "-c", "%u", path);
            Assert.Equal(ReadOnlyRoot.Uid.ToString(), owner);
        }
        Assert.Empty(Directory.GetFileSystemEntries(sandbox.Config, "*.tmp"));
    }

    [RootFact("bwrap mounts the read-only root and setpriv drops to uid 1654")]
    public async Task Sandbox_AWriteOutsideStateAndLog_FailsAsReadOnly_InsideThemSucceeds()
    {
        var sandbox = await SandboxAsync();
        var script = """
            id -u
            for f in /probe /app/probe /etc/school-filter/probe /usr/probe /tmp/probe /var/probe /var/lib/school-filter/probe /var/log/school-filter/probe; do
              if touch "$f" 2>/dev/null; then echo "wrote $f"; else echo "refused $f"; fi
            done
            """;
        var (code, output) = await Command.RunAsync(TimeSpan.FromSeconds(30), sandbox.Launcher()[0], [.. sandbox.Launcher().Skip(1), "sh", "-c", script]);
        Assert.True(code == 0, $"exit {code}\n{output}");
        Assert.Equal(
            [
                "1654", "refused /probe", "refused /app/probe", "refused /etc/school-filter/probe", "refused /usr/probe", "refused /tmp/probe",
                "refused /var/probe", "wrote /var/lib/school-filter/probe", "wrote /var/log/school-filter/probe",
            ],
            output.Split('\n'));
        Assert.True(File.Exists(Path.Combine(sandbox.State, "probe")));
    }

    /// <summary>The container's layout: the published output, its settings file and the default policy, and two empty directories owned by uid 1654.</summary>
    private static async Task<ReadOnlyRoot> SandboxAsync()
    {
        var app = Path.GetDirectoryName(await PublishedService.ExecutableAsync())!;
        var config = TempDir.Create("container-etc");
        File.Copy(Path.Combine(RepoPaths.Root, "deploy", "container", "appsettings.json"), Path.Combine(config, "appsettings.json"));
        TempDir.CopyDirectory(Samples.DefaultDir, Path.Combine(config, "policy"));
        var state = TempDir.Create("container-state");
        var log = TempDir.Create("container-log");
        foreach (var dir in new[] { state, log })
        {
            var (code, output) = await Command.RunAsync(TimeSpan.FromSeconds(10), "chown", $"{ReadOnlyRoot.Uid}:{ReadOnlyRoot.Uid}", dir);
            Assert.True(code == 0, output);
        }
        return new ReadOnlyRoot(app, config, state, log);
    }
}
