using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FilterService.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// Issue 17, safe search locked on per role, through the service as its own process: <c>Proxy:HostOverrides</c> points
/// the providers' safe-search names at one local TLS stand-in and the search hosts themselves at another, so where a
/// tunnel lands is the DNS answer the providers document for networks, observed.
/// </summary>
public sealed class SafeSearchTests
{
    /// <summary>
    /// The default sample (which locks safe search for pupils and guests) with 127.0.1.0/24 as pupil-lan, and YouTube
    /// allowed to pupils (the sample allows them only its embedded videos), as a school that uses it in lessons would write it,
    /// and to staff at any hour: the sample's staff-working-hours rule blocks YouTube (social) Mon-Fri 09:00-17:00, and these
    /// tests run the service on the wall clock, so without it the staff tunnel passed only when CI ran outside those hours.
    /// </summary>
    private static string Policy()
    {
        var dir = Samples.CopyDefault();
        var yaml = Path.Combine(dir, "policy.yaml");
        var before = File.ReadAllText(yaml);
        Assert.Contains("safe_search: { roles: [pupil, guest], youtube: strict }", before);
        // Each edit must find its text: one that silently matched nothing would leave the test on the sample's own rules.
        static string Edit(string text, string old, string replacement)
        {
            Assert.Contains(old, text);
            return text.Replace(old, replacement);
        }
        var after = Edit(before, "pupil-lan:   { cidrs: [10.40.0.0/16], default_role: pupil }",
            "pupil-lan:   { cidrs: [10.40.0.0/16, 127.0.1.0/24], default_role: pupil }");
        after = Edit(after, "  - name: pupils-youtube-embeds\n",
            "  - { name: pupils-youtube, roles: [pupil], hosts: [www.youtube.com], action: allow }\n  - name: pupils-youtube-embeds\n");
        after = Edit(after, "  - name: staff-lunch-staffroom\n",
            "  - { name: staff-youtube, roles: [staff], hosts: [www.youtube.com], action: allow }\n  - name: staff-lunch-staffroom\n");
        File.WriteAllText(yaml, after);
        return dir;
    }

    private static List<JsonElement> Audit(string auditDir) => AuditFiles.Read(auditDir);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Issue17_SafeSearch_PupilTunnelReachesSafeSearchAddress_StaffDoesNot(bool tunnelLoop)
    {
        await using var safe = new RecordingOrigin("safe-search-stand-in");
        await using var normal = new RecordingOrigin("normal-stand-in");
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={Policy()}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true", $"--Proxy:TunnelLoop={tunnelLoop}",
            $"--Proxy:HostOverrides:forcesafesearch.google.com=127.0.0.1:{safe.Port}",
            $"--Proxy:HostOverrides:restrict.youtube.com=127.0.0.1:{safe.Port}",
            $"--Proxy:HostOverrides:www.google.com=127.0.0.1:{normal.Port}",
            $"--Proxy:HostOverrides:www.youtube.com=127.0.0.1:{normal.Port}",
        ]);

        foreach (var host in new[] { "www.google.com", "www.youtube.com" })
        {
            // A pupil (pupil-lan, anonymous): the tunnel lands on the safe-search stand-in, with the original SNI.
            var pupil = await Curl.RunAsync("-k", "--interface", "127.0.1.5", "--proxy", service.Proxy, $"https://{host}/search?q=x");
            Assert.True(pupil.ExitCode == 0, $"curl {pupil.ExitCode} CONNECT {pupil.ConnectCode}: {pupil.Stderr}\n{service.Output}");
            Assert.Equal("safe-search-stand-in", pupil.Body);
            Assert.Contains(host, safe.ServerNames);

            // A member of staff (signed in, no network): the host's own address.
            var staff = await Curl.RunAsync("-k", "--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", $"https://{host}/search?q=x");
            Assert.True(staff.ExitCode == 0, $"curl {staff.ExitCode} CONNECT {staff.ConnectCode}: {staff.Stderr}\n{service.Output}");
            Assert.Equal("normal-stand-in", staff.Body);
            Assert.Contains(host, normal.ServerNames);
        }
        Assert.Equal(2, safe.ServerNames.Count);
        Assert.Equal(2, normal.ServerNames.Count);

        // Recorded: the pupils' tunnels say which provider's safe search applied; the staff tunnels say nothing.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        List<JsonElement> tunnels;
        while ((tunnels = Audit(audit).Where(r => r.GetProperty("method").GetString() == "CONNECT").ToList()).Count < 4)
        {
            Assert.True(DateTime.UtcNow < deadline, "four CONNECT records expected:\n" + string.Join("\n", tunnels.Select(t => t.GetRawText())));
            await Task.Delay(100);
        }
        string? SafeSearchOf(JsonElement r) => r.TryGetProperty("safe_search", out var s) ? s.GetString() : null;
        Assert.Equal(["google", "youtube"], tunnels.Where(r => r.TryGetProperty("roles", out var roles) && roles.EnumerateArray().Any(x => x.GetString() == "pupil"))
            .Select(SafeSearchOf).Order());
        Assert.All(tunnels.Where(r => r.Str("user") is not null), r => Assert.Null(SafeSearchOf(r)));

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{service.AdminPort}/metrics");
        Assert.Matches(new Regex(@"(?m)^filterservice_safe_search_total\{[^}]*provider=""google""[^}]*\} 1\b"), metrics);
        Assert.Matches(new Regex(@"(?m)^filterservice_safe_search_total\{[^}]*provider=""youtube""[^}]*\} 1\b"), metrics);
    }

    private static async Task<(int Exit, string Out, string Err)> ExplainAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(["explain", .. args], stdout, stderr, new StringReader(""));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Issue17_SafeSearch_Explain_SaysWhereAPupilsSearchConnects()
    {
        var policy = Policy();
        string[] pupil = ["--policy", policy, "--ip", "127.0.1.5", "--at", "2026-11-23T10:00", "--inspection-ca", "false"];

        var (exit, text, err) = await ExplainAsync([.. pupil, "--url", "https://www.google.co.uk/search?q=x"]);
        Assert.True(exit == 0, err);
        Assert.Contains("  safe search: connected to forcesafesearch.google.com (google), not www.google.co.uk's own address\n", text.ReplaceLineEndings("\n"));

        var (_, json, _) = await ExplainAsync([.. pupil, "--url", "https://www.youtube.com/watch?v=x", "--json"]);
        using var doc = JsonDocument.Parse(json);
        var safe = doc.RootElement.GetProperty("safe_search");
        Assert.Equal("youtube", safe.GetProperty("provider").GetString());
        Assert.Equal("restrict.youtube.com", safe.GetProperty("connect_to").GetString());
        Assert.Equal("Strict", safe.GetProperty("youtube_restrict").GetString());

        // Staff (signed in) are not locked: no line, and null in JSON.
        string[] staff = ["--policy", policy, "--user", "staff1", "--ip", "127.0.0.1", "--at", "2026-11-23T10:00", "--inspection-ca", "false"];
        var (_, staffText, _) = await ExplainAsync([.. staff, "--url", "https://www.google.co.uk/search?q=x"]);
        Assert.DoesNotContain("safe search", staffText);
        var (_, staffJson, _) = await ExplainAsync([.. staff, "--url", "https://www.google.co.uk/search?q=x", "--json"]);
        using var staffDoc = JsonDocument.Parse(staffJson);
        Assert.Equal(JsonValueKind.Null, staffDoc.RootElement.GetProperty("safe_search").ValueKind);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Issue17_SafeSearch_PlainHttp_PupilRequestGoesToSafeSearchAddress_WithItsHost(bool lean)
    {
        await using var safe = new RecordingOrigin("safe-search-stand-in", tls: false);
        await using var normal = new RecordingOrigin("normal-stand-in", tls: false);
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={Policy()}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true", $"--Proxy:LeanHttp={lean}",
            $"--Proxy:HostOverrides:strict.bing.com=127.0.0.1:{safe.Port}",
            $"--Proxy:HostOverrides:www.bing.com=127.0.0.1:{normal.Port}",
        ]);

        var pupil = await Curl.RunAsync("--interface", "127.0.1.5", "--proxy", service.Proxy, "http://www.bing.com/search?q=x");
        Assert.True(pupil.ExitCode == 0, pupil.Stderr + "\n" + service.Output);
        Assert.Equal("safe-search-stand-in", pupil.Body);
        Assert.Contains("Host: www.bing.com\r\n", Assert.Single(safe.Heads));

        // A member of staff's request goes to the host's own address.
        var staff = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", "http://www.bing.com/search?q=x");
        Assert.True(staff.ExitCode == 0, staff.Stderr);
        Assert.Equal("normal-stand-in", staff.Body);
        Assert.Single(normal.Heads);
    }

    [Fact]
    public async Task Issue17_SafeSearch_Inspected_YouTubeRequestsCarryYouTubeRestrict()
    {
        var dir = TempDir.Create("inspection");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Test School Inspection CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddYears(1));
        var caPem = Path.Combine(dir, "ca.pem");
        var caKey = Path.Combine(dir, "ca.key");
        await File.WriteAllTextAsync(caPem, ca.ExportCertificatePem());
        await File.WriteAllTextAsync(caKey, key.ExportPkcs8PrivateKeyPem());

        await using var safe = new RecordingOrigin("safe-search-stand-in");
        await using var normal = new RecordingOrigin("normal-stand-in");
        var trusted = Path.Combine(dir, "stand-in.pem");
        await File.WriteAllTextAsync(trusted, safe.Certificate.ExportCertificatePem());

        // www.youtube.com is inspected because a rule needs its method and paths (no uploads by pupils).
        var policy = Policy();
        var yaml = Path.Combine(policy, "policy.yaml");
        var before = File.ReadAllText(yaml);
        var after = before.Replace("  - { name: pupils-youtube, roles: [pupil], hosts: [www.youtube.com], action: allow }\n",
            "  - { name: pupils-no-uploads, roles: [pupil], hosts: [www.youtube.com], methods: [POST], paths: [\"/upload*\"], action: block }\n"
            + "  - { name: pupils-youtube, roles: [pupil], hosts: [www.youtube.com], action: allow }\n");
        Assert.NotEqual(before, after);
        File.WriteAllText(yaml, after);
        var audit = TempDir.Create("audit");
        await using var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={policy}", $"--Audit:Path={audit}", "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:InspectionCaCertificate={caPem}", $"--Proxy:InspectionCaKey={caKey}", $"--Proxy:UpstreamTrustedCertificates={trusted}",
            $"--Proxy:HostOverrides:restrict.youtube.com=127.0.0.1:{safe.Port}",
            $"--Proxy:HostOverrides:www.youtube.com=127.0.0.1:{normal.Port}",
        ]);

        var pupil = await Curl.RunAsync("--cacert", caPem, "--interface", "127.0.1.5", "--proxy", service.Proxy, "-H", "YouTube-Restrict: Off",
            "https://www.youtube.com/embed/abc");
        Assert.True(pupil.ExitCode == 0, $"curl {pupil.ExitCode} CONNECT {pupil.ConnectCode}: {pupil.Stderr}\n{service.Output}");
        Assert.Equal(200, pupil.HttpCode);
        Assert.Equal("safe-search-stand-in", pupil.Body);
        Assert.Equal(["www.youtube.com"], safe.ServerNames);
        var head = Assert.Single(safe.Heads);
        Assert.Contains("\r\nYouTube-Restrict: Strict\r\n", head);
        Assert.DoesNotContain("Off", head);
        Assert.Contains("\r\nHost: www.youtube.com\r\n", head);
        Assert.Empty(normal.ServerNames);
    }
}
