using System.Net;
using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

/// <summary>
/// Issue 20: the package built by deploy/debian/build-deb, installed for real with dpkg on this Debian 12 machine: the
/// user, the directories, the unit and the policy where the docs say; the packaged binary started from the packaged
/// paths as the package's user answers through the proxy; an upgrade keeps a school's edited policy; <c>dpkg -r</c>
/// removes the binary and keeps the policy and the audit log; <c>dpkg -P</c> removes everything. There is no systemd
/// as PID 1 here, so the binary is started as the unit would start it (its user, content root, working directory),
/// on free loopback ports rather than the packaged 3128/9090. Needs root, and changes the machine only while it runs.
/// </summary>
public sealed class DebianInstallTests
{
    private const string Lib = "/usr/lib/school-filter";
    private const string Etc = "/etc/school-filter";

    [RootFact("dpkg -i installs a package")]
    public async Task DpkgInstall_PackagedBinaryAnswersThroughTheProxy_UpgradeKeepsThePolicy_RemoveKeepsIt_PurgeRemovesAll()
    {
        var deb = await PublishedService.DebAsync();
        var upgrade = await WithVersionAsync(deb, "99.0.0");
        await DpkgAsync("-P", "school-filter"); // a run killed half-way left it installed
        try
        {
            await DpkgAsync("-i", deb);

            var user = (await Command.RunAsync(TimeSpan.FromSeconds(10), "getent", "passwd", "school-filter")).Output.Split(':');
            Assert.Equal("/var/lib/school-filter", user[5]);
            Assert.Equal("/usr/sbin/nologin", user[6]);
            Assert.True(int.Parse(user[2]) < 1000, $"school-filter is a system user, uid {user[2]}");
            foreach (var dir in new[] { "/var/lib/school-filter", "/var/log/school-filter" })
            {
                var (_, stat) = await Command.RunAsync(TimeSpan.FromSeconds(10), "stat", "-c", "%U:%G %a", dir);
                Assert.Equal("school-filter:school-filter 750", stat);
            }
            Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "systemd", "school-filter.service")),
                File.ReadAllText("/lib/systemd/system/school-filter.service"));
            Assert.Equal(File.ReadAllText(Path.Combine(Samples.DefaultDir, "policy.yaml")), File.ReadAllText($"{Etc}/policy/policy.yaml"));
            var (_, conffiles) = await Command.RunAsync(TimeSpan.FromSeconds(10), "dpkg-query", "-W", "-f=${Conffiles}", "school-filter");
            var kept = conffiles.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' ')[0]).ToList();
            Assert.Contains($"{Etc}/appsettings.json", kept);
            Assert.Contains($"{Etc}/policy/policy.yaml", kept);

            await AnswersThroughTheProxyAsync();

            // A school's edit survives an upgrade: the package's conffile did not change, so dpkg keeps the edited one.
            const string edit = "\n# Oak Academy: edited on site\n";
            File.AppendAllText($"{Etc}/policy/policy.yaml", edit);
            await DpkgAsync("-i", upgrade);
            Assert.Equal("99.0.0", (await Command.RunAsync(TimeSpan.FromSeconds(10), "dpkg-query", "-W", "-f=${Version}", "school-filter")).Output);
            Assert.EndsWith(edit, File.ReadAllText($"{Etc}/policy/policy.yaml"));

            await DpkgAsync("-r", "school-filter");
            Assert.False(File.Exists($"{Lib}/FilterService"), "dpkg -r left the binary");
            Assert.False(File.Exists("/lib/systemd/system/school-filter.service"), "dpkg -r left the unit");
            Assert.EndsWith(edit, File.ReadAllText($"{Etc}/policy/policy.yaml"));
            Assert.True(File.Exists($"{Etc}/appsettings.json"));
            Assert.NotEmpty(Directory.GetFiles("/var/log/school-filter")); // the audit log is a record the school keeps
            Assert.Equal("deinstall ok config-files",
                (await Command.RunAsync(TimeSpan.FromSeconds(10), "dpkg-query", "-W", "-f=${Status}", "school-filter")).Output);

            await DpkgAsync("-P", "school-filter");
            foreach (var gone in new[] { Etc, "/var/lib/school-filter", "/var/log/school-filter", Lib })
            {
                Assert.False(Directory.Exists(gone), $"dpkg -P left {gone}");
            }
            Assert.NotEqual(0, (await Command.RunAsync(TimeSpan.FromSeconds(10), "getent", "passwd", "school-filter")).Code);
        }
        finally
        {
            await Command.RunAsync(TimeSpan.FromSeconds(120), "dpkg", "-P", "school-filter");
        }
    }

    /// <summary>
    /// As the unit runs it: the packaged binary, as school-filter, content root /etc/school-filter, in its state
    /// directory; the audit log and the alert outbox go to the packaged /var paths.
    /// </summary>
    private static async Task AnswersThroughTheProxyAsync()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using (var service = await ServiceProcess.StartAsync(
            ["--Proxy:AllowLoopbackUpstream=true", $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{origin.HttpPort}"],
            new Dictionary<string, string> { ["DOTNET_CONTENTROOT"] = Etc, ["HOME"] = "/var/lib/school-filter" },
            launcher: ["setpriv", "--reuid=school-filter", "--regid=school-filter", "--init-groups", "--no-new-privs"],
            executable: $"{Lib}/FilterService", workingDirectory: "/var/lib/school-filter"))
        {
            var allowed = await Curl.RunAsync("--proxy", service.Proxy, "http://allowed.test/hello");
            Assert.Equal(200, allowed.HttpCode);
            Assert.Contains(origin.Seen, r => r.Target == "/hello");

            await using var raw = await RawClient.ConnectAsync(new(IPAddress.Loopback, service.ProxyPort));
            await raw.SendAsync("GET http://blocked-terror.test/ HTTP/1.1\r\nHost: blocked-terror.test\r\n\r\n");
            var (text, _) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10), t => t.Contains("</html>"));
            Assert.StartsWith("HTTP/1.1 403", text);

            using var client = new HttpClient();
            var health = JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/health")).RootElement;
            Assert.Equal($"{Etc}/policy", health.GetProperty("policy").GetProperty("directory").GetString());
            await AuditFiles.WaitForAsync("/var/log/school-filter", r => r.Str("url")?.Contains("blocked-terror.test") == true, "the blocked request's audit record");
        }
        var (_, owners) = await Command.RunAsync(TimeSpan.FromSeconds(10), "find", "/var/log/school-filter", "/var/lib/school-filter",
            "-mindepth", "1", "-printf", "%u %p\n");
        Assert.NotEmpty(owners);
        Assert.All(owners.Split('\n'), l => Assert.StartsWith("school-filter ", l));
    }

    /// <summary>The same package under a higher version: what an upgrade installs.</summary>
    private static async Task<string> WithVersionAsync(string deb, string version)
    {
        var dir = TempDir.Create("upgrade");
        var root = Path.Combine(dir, "root");
        Assert.Equal(0, (await Command.RunAsync(TimeSpan.FromSeconds(60), "dpkg-deb", "-R", deb, root)).Code);
        var control = Path.Combine(root, "DEBIAN", "control");
        File.WriteAllLines(control, File.ReadAllLines(control).Select(l => l.StartsWith("Version: ") ? "Version: " + version : l));
        var upgraded = Path.Combine(dir, $"school-filter_{version}_amd64.deb");
        var (code, output) = await Command.RunAsync(TimeSpan.FromSeconds(120), "dpkg-deb", "--root-owner-group", "-Znone", "--build", root, upgraded);
        Assert.True(code == 0, output);
        Directory.Delete(root, recursive: true);
        return upgraded;
    }

    /// <summary>dpkg, waiting (at most 2 min) while another process holds the dpkg lock (apt on a shared machine).</summary>
    private static async Task DpkgAsync(params string[] args)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var (code, output) = await Command.RunAsync(TimeSpan.FromSeconds(120), "dpkg", args);
            if (code == 0)
            {
                return;
            }
            if (!output.Contains("lock") || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"dpkg {string.Join(' ', args)}: exit {code}\n{output}");
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }
}
