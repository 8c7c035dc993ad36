using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text;
using FilterService.Cli;
using FilterService.Tests.TestSupport;
using PolicyModel.Decisions;

namespace FilterService.Tests.Cli;

public sealed class CliCommandsTests
{
    private static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(args, stdout, stderr, new StringReader("s3cret-pass\n"));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    public static TheoryData<string> Samples() =>
        new(Directory.GetDirectories(Path.Combine(RepoPaths.Root, "deploy", "samples")).Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Check_EverySample_ExitsZeroWithSummary(string sample)
    {
        var (exit, output, _) = await Run("check", "--policy", RepoPaths.Sample(sample));
        Assert.True(exit == 0, output);
        Assert.Contains("policy OK", output);
        Assert.Contains("category terrorism (statutory)", output);
    }

    [Fact]
    public async Task Check_BrokenCopy_ExitsOneWithEveryLocatedDiagnostic()
    {
        var dir = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        var path = Path.Combine(dir, "policy.yaml");
        var text = File.ReadAllText(path).Replace("timezone: Europe/London", "timezone: Europe/Londn").Replace("roles: [pupil]\n    category: social", "roles: [pupils]\n    category: social"); // pupils-social only
        File.WriteAllText(path, text);

        var (exit, output, _) = await Run("check", "--policy", dir);

        Assert.Equal(1, exit);
        Assert.Matches(@"policy\.yaml:\d+:\d+: error PM0104: unknown time zone 'Europe/Londn'; did you mean 'Europe/London'\?", output);
        Assert.Matches(@"policy\.yaml:\d+:\d+: error PM0103: unknown role 'pupils'; did you mean 'pupil'\?", output);
        Assert.Contains("policy rejected: 2 errors", output);
    }

    [Fact]
    public async Task ExplainJson_PupilOnFacebook_PrintsExactlyOneJsonObject()
    {
        var (exit, output, err) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--user", "pupil1", "--ip", "10.40.0.7",
            "--at", "2026-11-23T10:00:00Z", "--url", "https://www.facebook.com/", "--json");

        Assert.True(exit == 0, err);
        using var json = JsonDocument.Parse(output); // throws if there is anything besides one JSON value
        var root = json.RootElement;
        Assert.Equal("block", root.GetProperty("action").GetString());
        Assert.Equal("social", root.GetProperty("category").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("rule").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("reason").GetString()));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("until").ValueKind);
        Assert.Equal(JsonValueKind.True, root.GetProperty("alert").ValueKind); // pupils-social alerts at low severity
        Assert.True(root.GetProperty("trace").GetArrayLength() > 0);
    }

    [Fact]
    public async Task ExplainJson_LocalTimeWithoutOffset_IsPolicyLocal()
    {
        // 16:30 local on 1 June is 15:30Z (BST), inside school hours; they end at 17:00 BST = 16:00Z.
        var (_, output, _) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--user", "staff1", "--ip", "10.30.0.7",
            "--at", "2026-06-01T16:30", "--url", "https://www.facebook.com/", "--json");
        using var json = JsonDocument.Parse(output);
        Assert.Equal("block", json.RootElement.GetProperty("action").GetString());
        Assert.Equal("2026-06-01T16:00:00Z", json.RootElement.GetProperty("until").GetString());
    }

    [Fact]
    public async Task ExplainText_StatutoryHit_SaysItCannotBeOverridden()
    {
        var (exit, output, _) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--ip", "10.30.0.7",
            "--at", "2026-11-23T10:00", "--url", "blocked-terror.test:443");
        Assert.Equal(0, exit);
        Assert.StartsWith("BLOCKED  CONNECT blocked-terror.test:443", output);
        Assert.Contains("cannot be overridden", output);
    }

    [Fact]
    public async Task Item02_ExplainPostToDoubleSlashWikipediaPath_BlocksAndShowsTheJudgedPath()
    {
        string[] args = ["explain", "--policy", RepoPaths.Sample("default"), "--user", "staff1", "--ip", "10.30.0.7",
            "--at", "2026-11-23T10:00", "--method", "POST", "--url", "http://en.wikipedia.org/w//index.php?title=X&action=submit"];
        var (exit, output, err) = await Run(args);
        Assert.True(exit == 0, err);
        Assert.StartsWith("BLOCKED  POST http://en.wikipedia.org/w//index.php?title=X&action=submit", output);
        Assert.Contains("path:     judged as /w/index.php?title=X&action=submit", output);
        Assert.Contains("decided:  no-wikipedia-edits", output);

        var (_, json, _) = await Run([.. args, "--json"]);
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("block", doc.RootElement.GetProperty("action").GetString());
        Assert.Equal("/w/index.php?title=X&action=submit", doc.RootElement.GetProperty("path").GetString());
    }

    [Fact]
    public async Task Explain_BadTime_ExitsTwoWithMessage()
    {
        var (exit, _, err) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--ip", "10.30.0.7", "--at", "tomorrow", "--url", "https://a.test/");
        Assert.Equal(2, exit);
        Assert.Contains("--at: 'tomorrow' is not an ISO 8601 date-time", err);
    }

    [Fact]
    public async Task HashPassword_ProducesAHashTheLoaderAccepts()
    {
        var (exit, output, _) = await Run("hash-password", "--iterations", "10000");
        Assert.Equal(0, exit);
        var hash = PasswordHash.TryParse(output.Trim(), out var problem);
        Assert.True(hash is not null, problem);
        Assert.True(hash!.Verify("s3cret-pass"));
        Assert.False(hash.Verify("wrong"));
    }

    [Theory]
    [InlineData("chek", "--policy", "deploy/samples/default")]
    [InlineData("admins", "add", "someone")] // "admin" became a command (issue 18)
    public async Task SmallerItem_MistypedCommand_ExitsTwoWithTheCommandsAndNeverStartsTheProxy(params string[] args)
    {
        // As deployed: the built service as its own process. Before the fix it started the proxy on the default sample
        // (and 127.0.0.1:3128) and never exited.
        var (exit, output) = await RunServiceBinaryAsync(args, TimeSpan.FromSeconds(30));

        Assert.True(exit == 2, $"exit {exit}:\n{output}");
        Assert.DoesNotContain("Proxy listening", output);
        Assert.Contains($"error FS0005: unknown command '{args[0]}'", output);
        Assert.Contains("Commands: check, explain, hash-password, hash-list", output);
        if (args[0] == "chek")
        {
            Assert.Contains("unknown command 'chek'; did you mean 'check'?", output);
        }
    }

    public static TheoryData<string[]> ServiceInvocations() => new(
        [],
        ["--Proxy:Listen=0.0.0.0:3128,[::]:3128", "--Policy:Path=/etc/school-filter"], // docs/service.md
        ["--Proxy:Listen=127.0.0.1:0", "--Admin:Listen=127.0.0.1:0", "--Policy:Watch=false"], // ServiceProcess
        ["--Policy:Path", "/etc/school-filter"], // .NET's --Key value form
        ["/Policy:Path=/etc/school-filter", "Audit:Path=logs"]);

    [Theory]
    [MemberData(nameof(ServiceInvocations))]
    public void SmallerItem_DocumentedServiceInvocations_StillStartTheService(string[] args) =>
        Assert.Equal(Invocation.Service, CliCommands.Classify(args));

    [Theory]
    [InlineData("check", "--policy", "x")]
    [InlineData("explain", "--help")]
    [InlineData("hash-list", "plain.txt")]
    [InlineData("--help")]
    public void SmallerItem_Commands_AreCommands(params string[] args) => Assert.Equal(Invocation.Command, CliCommands.Classify(args));

    [Theory]
    [InlineData("chek", "--policy", "x")]
    [InlineData("admins", "add", "x")] // "admin" became a command (issue 18)
    [InlineData("--Policy:Path=/etc/x", "check")]
    [InlineData("Check")]
    public void SmallerItem_BareWords_AreUnknownCommands(params string[] args) => Assert.Equal(Invocation.Unknown, CliCommands.Classify(args));

    /// <summary>The default sample with an allow rule for YouTube embeds (a <c>paths:</c> rule) ahead of the pupils' social block.</summary>
    private static string SampleWithYouTubeEmbeds()
    {
        var dir = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        var path = Path.Combine(dir, "policy.yaml");
        // The sample's own YouTube rules (an allowed tunnel with path rules inside) are taken out: this is the other way,
        // an allow rule with paths under the category block, which cannot open the tunnel.
        var sample = File.ReadAllText(path);
        int from = sample.IndexOf("  # Seed (issue 17): \"a pupil's approved YouTube embed loads\"", StringComparison.Ordinal);
        int to = sample.IndexOf("  # Seed: \"pupils no social media\"", StringComparison.Ordinal);
        Assert.True(from > 0 && to > from, "the sample's YouTube embed rules were not found");
        var text = sample.Remove(from, to - from).Replace("""
              # Seed: "pupils no social media"
            """, """
              - name: pupils-youtube-embeds
                description: Embedded YouTube videos in lesson pages
                roles: [pupil]
                hosts: ["youtube.com"]
                paths: ["/embed/*"]
                action: allow

              # Seed: "pupils no social media"
            """);
        Assert.Contains("pupils-youtube-embeds", text);
        File.WriteAllText(path, text);
        return dir;
    }

    [Fact]
    public async Task SmallerItem_ExplainHttpsUrl_AnswersAsTheLiveProxyDecidesTheConnect()
    {
        var policy = SampleWithYouTubeEmbeds();
        var auth = Convert.ToBase64String(Encoding.ASCII.GetBytes("pupil1:pupil1-demo"));

        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={Path.Combine(policy, "logs")}"]);
        await using var client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, service.ProxyPort));
        await client.SendAsync($"CONNECT www.youtube.com:443 HTTP/1.1\r\nHost: www.youtube.com:443\r\nProxy-Authorization: Basic {auth}\r\n\r\n");
        var live = await client.ReadHeadAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 403", live);

        // Before the fix explain decided the full URL and said allow (rule pupils-youtube-embeds).
        var (exit, output, err) = await Run("explain", "--policy", policy, "--user", "pupil1", "--ip", "127.0.0.1", "--at", "2026-11-23T10:00",
            "--url", "https://www.youtube.com/embed/dQw4w9WgXcQ", "--inspection-ca", "false", "--json");
        Assert.True(exit == 0, err);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("block", json.RootElement.GetProperty("action").GetString());
        Assert.Equal("pupils-social", json.RootElement.GetProperty("rule").GetString());
        Assert.Equal("connect-host", json.RootElement.GetProperty("decided_on").GetString());

        var (_, text, _) = await Run("explain", "--policy", policy, "--user", "pupil1", "--ip", "127.0.0.1", "--at", "2026-11-23T10:00",
            "--url", "https://www.youtube.com/embed/dQw4w9WgXcQ", "--inspection-ca", "false");
        Assert.StartsWith("BLOCKED  CONNECT www.youtube.com:443\n", text.ReplaceLineEndings("\n"));
        Assert.Contains("  decided on: the host, at CONNECT: with no inspection CA the proxy sees only www.youtube.com:443 for GET https://www.youtube.com/embed/dQw4w9WgXcQ", text);
    }

    [Fact]
    public async Task SmallerItem_ExplainWithInspectionCaInTheServiceConfig_DecidesInspectedHostsOnTheUrl()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fs-test-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var settings = Path.Combine(dir, "appsettings.json");
        File.WriteAllText(settings, """{ "Proxy": { "InspectionCaCertificate": "ca.pem", "InspectionCaKey": "ca.key" } }""");
        string[] ask = ["explain", "--policy", RepoPaths.Sample("default"), "--user", "staff1", "--ip", "10.30.0.7", "--at", "2026-11-23T10:00",
            "--method", "POST", "--url", "https://en.wikipedia.org/w/index.php?action=submit", "--json"];

        var (_, inspected, _) = await Run([.. ask, "--config", settings]);
        var (_, spliced, _) = await Run([.. ask, "--inspection-ca", "false"]);
        var (_, plain, _) = await Run([.. ask[..^2], "http://en.wikipedia.org/w/index.php?action=submit", "--json"]);
        var (_, tunnel, _) = await Run([.. ask[..^5], "--url", "en.wikipedia.org:443", "--json", "--config", settings]);

        using (var json = JsonDocument.Parse(inspected))
        {
            Assert.Equal("block", json.RootElement.GetProperty("action").GetString());
            Assert.Equal("no-wikipedia-edits", json.RootElement.GetProperty("rule").GetString());
            Assert.Equal("url", json.RootElement.GetProperty("decided_on").GetString());
        }
        using (var json = JsonDocument.Parse(spliced))
        {
            Assert.Equal("allow", json.RootElement.GetProperty("action").GetString()); // what the proxy without a CA does
            Assert.Equal("connect-host", json.RootElement.GetProperty("decided_on").GetString());
        }
        using (var json = JsonDocument.Parse(plain))
        {
            Assert.Equal("block", json.RootElement.GetProperty("action").GetString());
            Assert.Equal("url", json.RootElement.GetProperty("decided_on").GetString());
        }
        using (var json = JsonDocument.Parse(tunnel))
        {
            Assert.Equal("connect-host", json.RootElement.GetProperty("decided_on").GetString());
        }
    }

    [Fact]
    public async Task SmallerItem_ExplainJsonWithoutUntil_HasUntilLocalNull()
    {
        var (exit, output, err) = await Run("explain", "--policy", RepoPaths.Sample("default"), "--user", "pupil1", "--ip", "10.40.0.7",
            "--at", "2026-11-23T10:00:00Z", "--url", "www.facebook.com:443", "--json");
        Assert.True(exit == 0, err);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("until").ValueKind);
        Assert.True(json.RootElement.TryGetProperty("until_local", out var local), "until_local is missing");
        Assert.Equal(JsonValueKind.Null, local.ValueKind);
    }

    /// <summary>Runs the built service binary with <paramref name="args"/>; kills it if it has not exited in time.</summary>
    private static async Task<(int Exit, string Output)> RunServiceBinaryAsync(string[] args, TimeSpan timeout)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "FilterService.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            await process.StopAsync();
            return (-1, "still running after " + timeout + ":\n" + await stdout + await stderr);
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task Issue17_ExplainBareIpConnect_AnswersAsTheProxy_WhenThePolicyRefusesThem()
    {
        var dir = FilterService.Tests.TestSupport.Samples.CopyDefault();
        File.AppendAllText(Path.Combine(dir, "policy.yaml"), "\nconnect:\n  bare_ip: block\n");
        var (exit, output, err) = await Run("explain", "--policy", dir, "--user", "staff1", "--ip", "10.30.0.7",
            "--at", "2026-11-23T10:00", "--url", "203.0.113.7:443");
        Assert.True(exit == 0, err);
        Assert.StartsWith("BLOCKED  CONNECT 203.0.113.7:443", output);
        Assert.Contains("bare-ip-connect", output);

        var (_, named, _) = await Run("explain", "--policy", dir, "--user", "staff1", "--ip", "10.30.0.7",
            "--at", "2026-11-23T10:00", "--url", "www.bbc.co.uk:443");
        Assert.StartsWith("ALLOWED  CONNECT www.bbc.co.uk:443", named);
    }
}
