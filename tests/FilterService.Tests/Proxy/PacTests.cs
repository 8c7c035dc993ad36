using System.Diagnostics;
using System.Text.RegularExpressions;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Configuration;

namespace FilterService.Tests.Proxy;

/// <summary>Issue 20: the PAC file (/proxy.pac, /wpad.dat) generated from the Pac settings and served on the proxy port.</summary>
public sealed class PacTests
{

    private static PacOptions Bind(Dictionary<string, string?> settings, List<string> errors) =>
        PacOptions.Bind(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), errors)!;

    [Fact]
    public void Generate_DirectHostsAndNetworks_ListsEachThenProxiesEverythingElseWithNoFallback()
    {
        var errors = new List<string>();
        var options = Bind(new()
        {
            ["Pac:DirectHosts"] = "Intranet.School.UK., *.school.internal",
            ["Pac:DirectNetworks:0"] = "10.1.2.3/16",
            ["Pac:DirectNetworks:1"] = "192.168.7.0/24",
        }, errors);
        Assert.Empty(errors);
        Assert.Equal("""
            // School web filter: proxy auto-configuration, generated from the service's Pac settings.
            // No DIRECT fallback: if the filter is unreachable, browsing stops rather than going unfiltered.
            function FindProxyForURL(url, host) {
              host = host.toLowerCase();
              if (host.indexOf(".") < 0 && host.indexOf(":") < 0) return "DIRECT";
              if (host == "intranet.school.uk") return "DIRECT";
              if (host == "school.internal" || dnsDomainIs(host, ".school.internal")) return "DIRECT";
              if (/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host)) {
                if (isInNet(host, "10.1.0.0", "255.255.0.0")) return "DIRECT";
                if (isInNet(host, "192.168.7.0", "255.255.255.0")) return "DIRECT";
              }
              return "PROXY filter.school.uk:3128";
            }

            """.Replace("\r\n", "\n"), new ProxyAutoConfig(options).Generate("filter.school.uk:3128"));
    }

    [Fact]
    public void Generate_NoSettings_OnlyPlainNamesGoDirect()
    {
        var pac = new ProxyAutoConfig(Bind(new(), [])).Generate("10.0.0.1:3128");
        Assert.Single(Regex.Matches(pac, "DIRECT\";"));
        Assert.EndsWith("  return \"PROXY 10.0.0.1:3128\";\n}\n", pac);
    }

    [Fact]
    public void Bind_BadSettings_ReportsEachWithItsKey()
    {
        var errors = new List<string>();
        Assert.Null(PacOptions.Bind(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pac:ProxyAddress"] = "filter\";alert(1);\"",
            ["Pac:DirectNetworks"] = "10.0.0.0/33, fd00::/8, 10.1/16",
            ["Pac:DirectHosts"] = "bad\"host.uk, nodot",
            ["Pac:Bogus"] = "1",
        }).Build(), errors));
        Assert.Equal(
        [
            "Pac:Bogus: unknown setting",
            "Pac:ProxyAddress: 'filter\";alert(1);\"' is not host:port",
            "Pac:DirectNetworks: '10.0.0.0/33' is not an IPv4 network (a.b.c.d/len)",
            "Pac:DirectNetworks: 'fd00::/8' is not an IPv4 network (a.b.c.d/len)",
            "Pac:DirectNetworks: '10.1/16' is not an IPv4 network (a.b.c.d/len)",
            "Pac:DirectHosts: 'bad\"host.uk' is not a host name or *.domain",
            "Pac:DirectHosts: 'nodot' is not a host name or *.domain",
        ], errors);
    }

    [Fact]
    public void AddressFor_HostHeaderNotHostAndPort_UsesTheLocalEndpoint()
    {
        var pac = new ProxyAutoConfig(Bind(new(), []));
        Assert.Equal("filter.school.uk:3128", pac.AddressFor("Filter.School.UK:3128", System.Net.IPAddress.Parse("10.0.0.1"), 3128));
        Assert.Equal("10.0.0.1:3128", pac.AddressFor("x\"; return \"DIRECT", System.Net.IPAddress.Parse("::ffff:10.0.0.1"), 3128));
        Assert.Equal("[fd00::1]:3128", pac.AddressFor(null, System.Net.IPAddress.Parse("fd00::1"), 3128));
    }

    [Theory]
    [InlineData("/proxy.pac", false)]
    [InlineData("/wpad.dat", false)]
    [InlineData("/wpad.dat", true)]
    public async Task Service_PacRequestFromAClient_ServesThePacForTheHostItCameIn(string path, bool lean)
    {
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={Samples.DefaultDir}", $"--Audit:Path={TempDir.Create("audit")}",
            $"--Proxy:LeanHttp={lean}", "--Pac:DirectHosts=*.school.internal"]);
        await using var raw = await RawClient.ConnectAsync(new(System.Net.IPAddress.Loopback, service.ProxyPort));
        await raw.SendAsync($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{service.ProxyPort}\r\n\r\n");
        var (text, _) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10), t => t.Contains("}\n"));
        Assert.StartsWith("HTTP/1.1 200", text);
        Assert.Contains("Content-Type: application/x-ns-proxy-autoconfig", text);
        Assert.Contains("dnsDomainIs(host, \".school.internal\")", text);
        Assert.Contains($"return \"PROXY 127.0.0.1:{service.ProxyPort}\";", text);
    }

    [Fact]
    public async Task Service_PacRequestFromANonClient_Is403AndAudited()
    {
        var policy = Samples.CopyDefault();
        var yaml = Path.Combine(policy, "policy.yaml");
        File.WriteAllText(yaml, File.ReadAllText(yaml).Replace("clients: [10.0.0.0/8, 127.0.0.0/8]", "clients: [10.0.0.0/8]"));
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={audit}"]);
        await using var raw = await RawClient.ConnectAsync(new(System.Net.IPAddress.Loopback, service.ProxyPort));
        await raw.SendAsync($"GET /proxy.pac HTTP/1.1\r\nHost: 127.0.0.1:{service.ProxyPort}\r\n\r\n");
        var (text, _) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 403", text);
        Assert.DoesNotContain("FindProxyForURL", text);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!AuditFiles.ReadLines(audit).Any(l => l.Contains("\"not-a-client\"") && l.Contains("/proxy.pac")))
        {
            Assert.True(DateTime.UtcNow < deadline, "no audit record for the refused PAC request");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Chromium_WithOnlyThePacUrl_ProxiesFilteredHostsAndGoesDirectForAListedOne()
    {
        await using var origin = await TestOrigin.StartAsync();
        var service = await RunningService.StartAsync(Samples.CopyDefault(), origin, "--Pac:DirectHosts=direct.test");
        await using var _ = service;
        string pacUrl = $"http://127.0.0.1:{service.ProxyPort}/proxy.pac";

        var allowed = await RunChromiumAsync(pacUrl, "http://allowed.test/hello");
        Assert.Contains("Hello from the origin", allowed);
        await service.WaitForAuditAsync(r => r.Str("url") == "http://allowed.test/hello" && r.Str("action") == "allow", "chromium's request through the PAC's proxy");

        var blocked = await RunChromiumAsync(pacUrl, "http://blocked-terror.test/");
        Assert.Contains("This page is blocked", blocked);

        // direct.test resolves (in Chromium only) to the origin; the proxy has no override for it, so only a direct fetch reaches it.
        var direct = await RunChromiumAsync(pacUrl, $"http://direct.test:{origin.HttpPort}/hello", "--host-resolver-rules=MAP direct.test 127.0.0.1");
        Assert.Contains("Hello from the origin", direct);
        Assert.Contains($"host direct.test:{origin.HttpPort}", direct);
        Assert.DoesNotContain(service.AuditRecords(), r => r.Str("url")?.Contains("direct.test") == true);
    }

    private static Task<string> RunChromiumAsync(string pacUrl, string url, params string[] extra) =>
        TestSupport.Chromium.RunAsync(url, [$"--proxy-pac-url={pacUrl}", "--dump-dom", .. extra]);
}
