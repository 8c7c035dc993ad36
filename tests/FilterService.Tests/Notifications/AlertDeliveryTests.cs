using System.Net;
using System.Text.Json;
using FilterService.Notifications;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace FilterService.Tests.Notifications;

/// <summary>
/// Alerts end to end with real peers: aiosmtpd as the mail server, a Kestrel webhook receiver, the service in
/// process or as a child process that is killed with SIGKILL. Retry delays are shortened through options.
/// </summary>
public sealed class AlertDeliveryTests
{
    private static readonly TimeSpan MailWait = TimeSpan.FromSeconds(30);

    private static string[] Fast => [
        "--Alerts:Retry:BaseDelay=00:00:00.2",
        "--Alerts:Retry:MaxDelay=00:00:01",
        "--Alerts:Retry:MaxAttempts=2",
        "--Alerts:PollInterval=00:00:00.3",
        "--Alerts:Circuit:BreakDuration=00:00:01",
        "--Alerts:Timeout=00:00:05",
    ];

    private static string[] Email(int port) => [
        "--Alerts:Smtp:Host=127.0.0.1",
        $"--Alerts:Smtp:Port={port}",
        "--Alerts:Smtp:StartTls=false",
        "--Alerts:Email:From=filter@school.test",
        "--Alerts:Email:To=ict@school.test, dsl@school.test",
    ];

    [Fact]
    public async Task Pupil1TriesBlockedTerror_EmailArrivesWithEveryField()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var service = await RunningService.StartAsync(Samples.CopyDefault(), null, [.. Fast, .. Email(smtp.Port)]);

        var http = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "--proxy-user", "pupil1:pupil1-demo", "http://blocked-terror.test/page?q=1");
        Assert.Equal(403, http.HttpCode);

        var mail = Assert.Single(await smtp.WaitForAsync(1, MailWait));
        AssertField(mail, "Subject", "[School web filter] HIGH alert: Pat Pupil (pupil1) tried blocked-terror.test (terrorism)");
        AssertField(mail, "To", "ict@school.test, dsl@school.test");
        // Header names are case-insensitive (RFC 5322); MimeKit writes Message-Id.
        Assert.Matches(@"(?im)^Message-ID: <[0-9a-f]{32}@alerts\.filterservice>\r?$", mail);
        AssertField(mail, "Severity", "High");
        Assert.Matches(@"Time:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d \(Europe/London\); \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", mail);
        AssertField(mail, "User", "pupil1");
        AssertField(mail, "Display name", "Pat Pupil");
        AssertField(mail, "Roles", "pupil");
        AssertField(mail, "Client address", "127.0.0.1");
        AssertField(mail, "Network", null);
        AssertField(mail, "Method", "GET");
        AssertField(mail, "URL or host", "http://blocked-terror.test/page?q=1");
        AssertField(mail, "Category", "terrorism");
        AssertField(mail, "Rule", "statutory:terrorism");
        AssertField(mail, "Action", "blocked");
        var reference = System.Text.RegularExpressions.Regex.Match(mail, @"Reference:\s+([0-9A-F]{8})").Groups[1].Value;
        Assert.Contains(reference, http.Body);

        var stats = service.App.App.Services.GetRequiredService<AlertStats>();
        await WaitUntilAsync(() => stats.Delivered("email") == 1 && stats.Pending("email") == 0, "stats: one delivered, none pending");
        Assert.Equal(0, stats.Failed("email"));
        Assert.Equal(1, stats.Raised(PolicyModel.Decisions.AlertSeverity.High));
    }

    [Fact]
    public async Task SmtpDownThenServiceKilledAndRestarted_AlertArrivesExactlyOnce()
    {
        int smtpPort = SmtpSink.FreePort();
        var outbox = TempDir.Create("outbox");
        var policy = Samples.CopyDefault();
        string[] settings = [$"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}", $"--Alerts:Outbox:Path={outbox}",
            .. Fast, .. Email(smtpPort)];

        await using (var first = await ServiceProcess.StartAsync(settings))
        {
            var http = await Curl.RunAsync("--proxy", first.Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://blocked-terror.test/page");
            Assert.Equal(403, http.HttpCode);
            // The 403 was written after the incident reached the disk: SIGKILL now must not lose it.
            await first.KillHardAsync();
        }
        Assert.Contains("blocked-terror.test", await File.ReadAllTextAsync(Path.Combine(outbox, Outbox.FileName)));

        await using var second = await ServiceProcess.StartAsync(settings);
        await using var smtp = await SmtpSink.StartAsync(smtpPort);
        var mail = Assert.Single(await smtp.WaitForAsync(1, MailWait));
        AssertField(mail, "URL or host", "http://blocked-terror.test/page");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Single(smtp.Messages());
    }

    [Fact]
    public async Task WebhookFailsFirstAndServiceKilled_AlertArrivesExactlyOnce()
    {
        await using var hook = await WebhookReceiver.StartAsync(failFirst: 3);
        var outbox = TempDir.Create("outbox");
        string[] settings = [$"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}", $"--Alerts:Outbox:Path={outbox}",
            $"--Alerts:Webhook:Url={hook.Url}", .. Fast];

        await using (var first = await ServiceProcess.StartAsync(settings))
        {
            var https = await Curl.RunAsync("--proxy", first.Proxy, "--proxy-user", "pupil1:pupil1-demo", "https://blocked-terror.test/");
            Assert.Equal(403, https.ConnectCode);
            await hook.WaitForAsync(r => r.Count >= 1, TimeSpan.FromSeconds(15), "a first (failed) attempt");
            await first.KillHardAsync();
        }
        Assert.Empty(hook.Accepted);

        await using var second = await ServiceProcess.StartAsync(settings);
        var all = await hook.WaitForAsync(r => r.Any(x => x.Status == 200), TimeSpan.FromSeconds(30), "a successful delivery");
        await Task.Delay(TimeSpan.FromSeconds(3));
        all = hook.Requests;
        var accepted = Assert.Single(all, r => r.Status == 200);
        Assert.Equal(3, all.Count(r => r.Status == 500));
        Assert.Single(all.Select(r => r.Key).Distinct());
        var json = JsonDocument.Parse(accepted.Body).RootElement;
        Assert.Equal("high", json.GetProperty("severity").GetString());
        var incident = json.GetProperty("incidents")[0];
        Assert.Equal("pupil1", incident.GetProperty("user").GetString());
        Assert.Equal("Pat Pupil", incident.GetProperty("displayName").GetString());
        Assert.Equal("blocked-terror.test:443", incident.GetProperty("target").GetString());
        Assert.Equal("CONNECT", incident.GetProperty("method").GetString());
        Assert.Equal("statutory:terrorism", incident.GetProperty("rule").GetString());
        Assert.Equal(accepted.Key, json.GetProperty("id").GetString());
    }

    [Fact]
    public async Task TwoHundredAttemptsInAMinute_OneHighAlertThenOneFoldedCount()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var service = await RunningService.StartAsync(Samples.CopyDefault(), null,
            [.. Fast, .. Email(smtp.Port), "--Alerts:FoldWindow=00:00:05"]);
        using var client = service.CreateClient();
        // The sample's proxy login is optional: no 407 comes, so sign in up front as a browser that was told to would.
        client.DefaultRequestHeaders.ProxyAuthorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("pupil1:pupil1-demo")));

        var started = DateTime.UtcNow;
        for (int i = 0; i < 200; i++)
        {
            using var response = await client.GetAsync($"http://blocked-terror.test/page{i % 3}");
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        var took = DateTime.UtcNow - started;
        Assert.True(took < TimeSpan.FromSeconds(4), $"200 attempts took {took}: longer than the fold window");

        var mails = await smtp.WaitForAsync(2, TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(2));
        mails = smtp.Messages().Select(Unfold).ToList();
        Assert.Equal(2, mails.Count);
        Assert.Single(mails, m => m.Contains("HIGH alert: Pat Pupil (pupil1) tried blocked-terror.test (terrorism)"));
        var folded = Assert.Single(mails, m => m.Contains("HIGH alert: 199 further attempt(s) by Pat Pupil (pupil1) on blocked-terror.test (terrorism)"));
        AssertField(folded, "Further attempts", "199");
    }

    private static string Unfold(string mail) => System.Text.RegularExpressions.Regex.Replace(mail, @"\r?\n[ \t]+", " ");

    private static void AssertField(string mail, string name, string? value)
    {
        var pattern = $@"(?m)^{System.Text.RegularExpressions.Regex.Escape(name)}:\s+" + (value is null ? @"\S.*" : System.Text.RegularExpressions.Regex.Escape(value)) + @"\r?$";
        var unfolded = Unfold(mail);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(unfolded, pattern), $"no field '{name}: {value}' in:\n{mail}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException("timed out waiting for " + what);
            }
            await Task.Delay(50);
        }
    }
}
