using System.Net;
using System.Text;
using System.Text.Json;
using FilterService.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Cli;

/// <summary>
/// <c>check</c> names the policy's sign-in networks, safe search and <c>connect.bare_ip</c>; <c>explain</c> says how the
/// live proxy answers a refused tunnel (block page inside TLS with an inspection CA, else 403 to the CONNECT).
/// </summary>
public sealed class CheckExplainAnswerTests
{
    private static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(args, stdout, stderr, new StringReader(""));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static string[] Lines(string output) => output.ReplaceLineEndings("\n").Split('\n');

    [Fact]
    public async Task Check_DefaultSample_SummarisesSignInNetworksAndSafeSearch()
    {
        var (exit, output, _) = await Run("check", "--policy", RepoPaths.Sample("default"));

        Assert.True(exit == 0, output);
        var lines = Lines(output);
        Assert.Contains("  sign-in required on networks: staffroom, school-wifi (identity.required_on)", lines);
        Assert.Contains("  safe search locked for roles: guest, pupil; YouTube restricted mode strict", lines);
        Assert.DoesNotContain(lines, l => l.Contains("connect.bare_ip", StringComparison.Ordinal)); // the default sample does not say
    }

    [Fact]
    public async Task Check_BareIpBlockAndModerateYouTube_AreSummarised_AndAbsentSectionsAreNot()
    {
        var dir = Samples.CopyDefault();
        var path = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(path);
        Assert.Contains("safe_search: { roles: [pupil, guest], youtube: strict }", text);
        Assert.Contains("  required_on: [staffroom, school-wifi]\n", text.ReplaceLineEndings("\n"));
        text = text.ReplaceLineEndings("\n")
            .Replace("safe_search: { roles: [pupil, guest], youtube: strict }", "safe_search: { roles: [pupil], youtube: moderate }")
            .Replace("  required_on: [staffroom, school-wifi]\n", "");
        File.WriteAllText(path, text + "\nconnect:\n  bare_ip: block\n");

        var (exit, output, _) = await Run("check", "--policy", dir);

        Assert.True(exit == 0, output);
        var lines = Lines(output);
        Assert.Contains("  safe search locked for roles: pupil; YouTube restricted mode moderate", lines);
        Assert.Contains("  tunnels to IP addresses refused (connect.bare_ip: block)", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("  sign-in required", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("true", "block-page-in-tls", "  answered: block page inside TLS (inspection CA configured)")]
    [InlineData("false", "connect-403", "  answered: 403 to the CONNECT (no inspection CA)")]
    public async Task Explain_PupilOnFacebookOverHttps_SaysHowTheProxyAnswersTheRefusedConnect(string ca, string field, string line)
    {
        string[] ask = ["explain", "--policy", RepoPaths.Sample("default"), "--ip", "10.40.0.7", "--at", "2026-11-23T10:00:00Z",
            "--url", "https://www.facebook.com/", "--inspection-ca", ca];

        var (exit, text, err) = await Run(ask);
        Assert.True(exit == 0, err);
        Assert.StartsWith("BLOCKED  CONNECT www.facebook.com:443", text);
        Assert.Contains(line, Lines(text));

        var (_, output, _) = await Run([.. ask, "--json"]);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("block", json.RootElement.GetProperty("action").GetString());
        Assert.Equal("connect-host", json.RootElement.GetProperty("decided_on").GetString());
        Assert.Equal(field, json.RootElement.GetProperty("answered_with").GetString());
    }

    [Theory]
    [InlineData(true, "block-page-in-tls", "HTTP/1.1 200")]
    [InlineData(false, "connect-403", "HTTP/1.1 403")]
    public async Task Explain_AnsweredWith_IsWhatTheRunningProxyAnswersTheConnect(bool withCa, string field, string status)
    {
        var policy = Samples.CopyDefault();
        string[] settings = [$"--Policy:Path={policy}", $"--Audit:Path={Path.Combine(policy, "logs")}"];
        if (withCa)
        {
            var (_, caCert, caKey) = await CaCommandTests.InitAsync();
            settings = [.. settings, $"--Proxy:InspectionCaCertificate={caCert}", $"--Proxy:InspectionCaKey={caKey}"];
        }
        var auth = Convert.ToBase64String(Encoding.ASCII.GetBytes("pupil1:pupil1-demo"));
        await using var service = await ServiceProcess.StartAsync(settings);
        await using var client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, service.ProxyPort));
        await client.SendAsync($"CONNECT www.facebook.com:443 HTTP/1.1\r\nHost: www.facebook.com:443\r\nProxy-Authorization: Basic {auth}\r\n\r\n");
        var live = await client.ReadHeadAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith(status, live);

        var (exit, output, err) = await Run("explain", "--policy", policy, "--user", "pupil1", "--ip", "127.0.0.1", "--at", "2026-11-23T10:00:00Z",
            "--url", "https://www.facebook.com/", "--inspection-ca", withCa ? "true" : "false", "--json");
        Assert.True(exit == 0, err);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("block", json.RootElement.GetProperty("action").GetString());
        Assert.Equal(field, json.RootElement.GetProperty("answered_with").GetString());
    }

    [Theory]
    [InlineData("https://www.bbc.co.uk/", "false")] // allowed
    [InlineData("http://www.facebook.com/", "true")] // blocked, decided on the URL: the block page as any plain request
    public async Task Explain_AllowedOrDecidedOnTheUrl_HasNoAnsweredWith(string url, string ca)
    {
        string[] ask = ["explain", "--policy", RepoPaths.Sample("default"), "--ip", "10.40.0.7", "--at", "2026-11-23T10:00:00Z",
            "--url", url, "--inspection-ca", ca];

        var (_, text, _) = await Run(ask);
        Assert.DoesNotContain("answered:", text);
        var (_, output, _) = await Run([.. ask, "--json"]);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("answered_with").ValueKind);
    }
}
