using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Hosting;

/// <summary>
/// Issue 20: deploy/debian/build-deb builds a package whose contents, conffiles and maintainer scripts are what
/// docs/service.md says, and whose self-contained binary starts from the packaged tree. (Installing it with dpkg -i
/// changes the machine, so that is a documented command, not a test.)
/// </summary>
public sealed class DebianPackageTests
{
    [Fact]
    public async Task BuildDeb_Package_HoldsTheBinaryUnitAndPolicyAsConffilesAndItsBinaryStarts()
    {
        var deb = await PublishedService.DebAsync();

        var (_, contents) = await RunAsync(TimeSpan.FromSeconds(60), "dpkg-deb", "-c", deb);
        foreach (var path in new[]
        {
            "./usr/lib/school-filter/FilterService", "./usr/lib/school-filter/FilterService.dll", "./lib/systemd/system/school-filter.service",
            "./etc/school-filter/appsettings.json", "./etc/school-filter/policy/policy.yaml",
        })
        {
            Assert.Contains(contents.Split('\n'), l => l.EndsWith(" " + path));
        }
        Assert.Contains(contents.Split('\n'), l => l.StartsWith("-rwxr-xr-x root/root") && l.EndsWith(" ./usr/lib/school-filter/FilterService"));

        var (_, info) = await RunAsync(TimeSpan.FromSeconds(30), "dpkg-deb", "-I", deb);
        Assert.Contains(" Package: school-filter", info);
        Assert.Contains(" Architecture: amd64", info);
        Assert.Contains(" Depends: adduser,", info);

        var control = TempDir.Create("control");
        Assert.Equal(0, (await RunAsync(TimeSpan.FromSeconds(30), "dpkg-deb", "-e", deb, control)).Code);
        var conffiles = File.ReadAllLines(Path.Combine(control, "conffiles"));
        Assert.Contains("/etc/school-filter/appsettings.json", conffiles);
        Assert.Contains("/etc/school-filter/policy/policy.yaml", conffiles);
        Assert.All(conffiles, f => Assert.StartsWith("/etc/school-filter/", f));
        var postinst = File.ReadAllText(Path.Combine(control, "postinst"));
        Assert.Contains("adduser --system --group --home /var/lib/school-filter", postinst);
        Assert.Contains("install -d -o school-filter -g school-filter -m 750 /var/lib/school-filter /var/log/school-filter", postinst);
        Assert.Contains("if [ \"$1\" = purge ]; then", File.ReadAllText(Path.Combine(control, "postrm")));
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
        {
            var (sh, shOutput) = await RunAsync(TimeSpan.FromSeconds(10), "sh", "-n", Path.Combine(control, script));
            Assert.True(sh == 0, $"{script}: {shOutput}");
        }

        // The packaged binary, self-contained, from the packaged tree: settings from its /etc, the absolute paths moved to temporary ones.
        var tree = await PublishedService.TreeAsync();
        var state = TempDir.Create("state");
        await using var service = await ServiceProcess.StartAsync(
            [$"--Policy:Path={tree}/etc/school-filter/policy", $"--Audit:Path={state}/log", $"--Alerts:Outbox:Path={state}/lib/alerts-outbox"],
            new Dictionary<string, string> { ["DOTNET_CONTENTROOT"] = $"{tree}/etc/school-filter" },
            executable: $"{tree}/usr/lib/school-filter/FilterService");
        await using var raw = await RawClient.ConnectAsync(new(System.Net.IPAddress.Loopback, service.ProxyPort));
        await raw.SendAsync("GET http://blocked-terror.test/ HTTP/1.1\r\nHost: blocked-terror.test\r\n\r\n");
        var (text, _) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10), t => t.Contains("</html>"));
        Assert.StartsWith("HTTP/1.1 403", text);
        Assert.Contains("This page is blocked", text);
    }

    private static Task<(int Code, string Output)> RunAsync(TimeSpan timeout, string file, params string[] args) =>
        Command.RunAsync(timeout, file, args);
}
