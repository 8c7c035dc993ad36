using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using FilterService.Admin;
using FilterService.Admin.Incidents;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin.Incidents;

/// <summary>
/// Issue 19: alerts become incidents in console.db, fed from the outbox by the service started as its own process
/// (alerts configured as DeployedAlertTests does, a real aiosmtpd and a real webhook receiver), and the alert email and
/// webhook carry the incident page's address when Console:PublicUrl is set.
/// </summary>
public sealed partial class DeployedIncidentTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private const string PublicUrl = "https://filter.school.test:9090/console";

    private static string[] Settings(string data, int smtp, Uri hook) => [
        $"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}", $"--Alerts:Outbox:Path={TempDir.Create("outbox")}",
        $"--Console:DataPath={data}", "--Alerts:PollInterval=00:00:00.3", "--Alerts:Retry:BaseDelay=00:00:00.2", "--Alerts:Retry:MaxDelay=00:00:01",
        "--Alerts:Smtp:Host=127.0.0.1", $"--Alerts:Smtp:Port={smtp}", "--Alerts:Smtp:StartTls=false",
        "--Alerts:Email:From=filter@school.test", "--Alerts:Email:To=dsl@school.test", $"--Alerts:Webhook:Url={hook}",
    ];

    [Fact]
    public async Task Issue19_PupilsStatutoryAttempt_BecomesAnIncident_EmailAndWebhookLinkToItsPage()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(failFirst: 0);
        var data = TempDir.Create("console");
        await using var service = await ServiceProcess.StartAsync([.. Settings(data, smtp.Port, hook.Url), $"--Console:PublicUrl={PublicUrl}"]);

        await PupilTriesTerrorAsync(service);
        await PupilTriesTerrorAsync(service); // a folded repeat: the same incident, two attempts

        var store = new IncidentStore(new ConsoleDatabase(Path.Combine(data, "console.db")), TimeProvider.System);
        var incident = await WaitForAsync(async () => (await store.ListAsync(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1)))
            is [{ Attempts: 2 } one] ? one : null, service, "the incident with two attempts in console.db");
        Assert.Equal(("pupil1", "Pat Pupil", "terrorism", "High", IncidentState.New), (incident.User, incident.DisplayName, incident.Category, incident.Severity, incident.State));
        Assert.Equal(["pupil"], incident.Roles);
        Assert.Equal("http://blocked-terror.test/page", incident.Target);
        var page = $"{PublicUrl}/incidents/{incident.Id}";

        var mail = Regex.Replace(Assert.Single(await smtp.WaitForAsync(1, Bound)), @"\r?\n[ \t]+", " ");
        Assert.Matches($@"(?m)^Incident page: +{Regex.Escape(page)}\r?$", mail);
        var accepted = await hook.WaitForAsync(r => r.Count >= 1, Bound, "the webhook");
        using var json = JsonDocument.Parse(accepted[0].Body);
        Assert.Equal(page, json.RootElement.GetProperty("url").GetString());
        Assert.Equal(page, json.RootElement.GetProperty("incidents")[0].GetProperty("url").GetString());

        using var health = JsonDocument.Parse(await AdminGetAsync(service, "/health"));
        Assert.Equal(0, health.RootElement.GetProperty("incidents").GetProperty("pending").GetInt32());
        Assert.Equal(0, health.RootElement.GetProperty("incidents").GetProperty("failures").GetInt64());
    }

    [Fact]
    public async Task Issue19_ConsoleDbCannotBeWritten_AlertStillDelivered_HealthAndMetricsSayIt_InboxCatchesUpAfterwards()
    {
        await using var smtp = await SmtpSink.StartAsync();
        await using var hook = await WebhookReceiver.StartAsync(failFirst: 0);
        var parent = TempDir.Create("console-blocked");
        var data = Path.Combine(parent, "console");
        File.WriteAllText(data, "a file where the console's data directory should be");
        await using var service = await ServiceProcess.StartAsync(Settings(data, smtp.Port, hook.Url));

        var started = DateTime.UtcNow;
        await PupilTriesTerrorAsync(service);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "the block page waited " + (DateTime.UtcNow - started));

        // The DSL's email and webhook do not wait for the console's database; no link without Console:PublicUrl.
        var mail = Assert.Single(await smtp.WaitForAsync(1, Bound));
        Assert.Contains("tried blocked-terror.test (terrorism)", Regex.Replace(mail, @"\r?\n[ \t]+", " "));
        Assert.DoesNotContain("Incident page", mail);
        await hook.WaitForAsync(r => r.Count >= 1, Bound, "the webhook");

        var problem = await WaitForAsync(async () =>
        {
            using var health = JsonDocument.Parse(await AdminGetAsync(service, "/health"));
            return health.RootElement.GetProperty("status").GetString() == "degraded"
                ? health.RootElement.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).FirstOrDefault(p => p.StartsWith("incidents:", StringComparison.Ordinal))
                : null;
        }, service, "/health to report the inbox failing");
        Assert.StartsWith("incidents: 1 alert(s) not yet in the console's inbox: console.db cannot be written since", problem);
        var metrics = await AdminGetAsync(service, "/metrics");
        Assert.Matches(@"(?m)^filterservice_incidents_ingest_pending\S*(\{[^}]*\})? 1\b", metrics);
        Assert.Matches(@"(?m)^filterservice_incidents_ingest_failures\S*_total(\{[^}]*\})? [1-9]", metrics);
        Assert.Contains("[1530]", service.Output);

        // The disk is put right; the next alert wakes the ingester and both are in the inbox.
        File.Delete(data);
        await PupilTriesTerrorAsync(service);
        var store = new IncidentStore(new ConsoleDatabase(Path.Combine(data, "console.db")), TimeProvider.System);
        await WaitForAsync(async () => (await store.ListAsync(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1)))
            is [{ Attempts: 2 } one] ? one : null, service, "the held incident in console.db");
        await WaitForAsync(async () => (await AdminGetAsync(service, "/health")).Contains("\"status\":\"ok\"") ? "ok" : null, service, "/health ok again");
        Assert.Matches(@"(?m)^filterservice_incidents_ingest_pending\S*(\{[^}]*\})? 0\b", await AdminGetAsync(service, "/metrics"));
        Assert.Contains("[1531]", service.Output);
    }

    internal static async Task PupilTriesTerrorAsync(ServiceProcess service)
    {
        var http = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://blocked-terror.test/page");
        Assert.Equal(403, http.HttpCode);
    }

    internal static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, ServiceProcess service, string what) where T : class
    {
        var deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"no {what} within {Bound}; service output:\n{service.Output}");
            }
            await Task.Delay(200);
        }
    }

    internal static async Task<string> AdminGetAsync(ServiceProcess service, string path)
    {
        var admin = AdminLine().Match(service.Output);
        Assert.True(admin.Success, "no admin port in the start-up line:\n" + service.Output);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync($"http://127.0.0.1:{admin.Groups[1].Value}{path}");
    }

    [GeneratedRegex(@"admin on 127\.0\.0\.1:(\d+)")]
    private static partial Regex AdminLine();
}
