using System.Text.Json;
using FilterService.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin.Reports;

/// <summary>
/// Issue 19, must show: the weekly report is received by a real SMTP server (aiosmtpd) with its charts, and its figures
/// match the audit log it was made from, computed here independently from the same files.
/// </summary>
public sealed class WeeklyReportEmailTests
{
    // 2026-W48 in Europe/London (GMT in November): Monday 23 Nov 00:00 to Monday 30 Nov 00:00 UTC.
    private static readonly DateTimeOffset From = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Until = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    internal static string Settings(string dir, string audit, int smtpPort, string policy, string? extra = null)
    {
        var path = Path.Combine(dir, "appsettings.json");
        File.WriteAllText(path, $$"""
            {
              "Policy": { "Path": {{JsonSerializer.Serialize(policy)}} },
              "Audit": { "Path": {{JsonSerializer.Serialize(audit)}} },
              "Alerts": {
                "Smtp": { "Host": "127.0.0.1", "Port": {{smtpPort}}, "Security": "None" },
                "Email": { "From": "filter@school.test", "To": "alerts@school.test" }
              },
              "Reports": { "Weekly": { "Recipients": "dsl@school.test; head@school.test" } }{{extra}}
            }
            """);
        return path;
    }

    [Fact]
    public async Task ReportWeekly_Send_ArrivesWithInlineChartsAndTheAuditLogsFigures()
    {
        var dir = TempDir.Create("weekly");
        var audit = Path.Combine(dir, "logs");
        ReportTestData.Write(audit, From, Until, 600, seed: 48);
        await using var sink = await SmtpSink.StartAsync();
        var settings = Settings(dir, audit, sink.Port, RepoPaths.Sample("default"));

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(["report", "weekly", "--week", "2026-W48", "--send", "--config", settings], stdout, stderr, new StringReader(""));
        Assert.True(exit == 0, stdout + "\n" + stderr);

        var raw = Assert.Single(await sink.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        var mail = MimeKit.MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(raw)));
        Assert.Equal(["dsl@school.test", "head@school.test"], mail.To.Mailboxes.Select(m => m.Address));
        Assert.Contains("Weekly filtering report 2026-W48: Cherry Oak Federation", mail.Subject);
        var html = mail.HtmlBody;
        Assert.NotNull(html);

        // Every chart is an inline PNG part the HTML refers to by its Content-ID, and decodes as a 640x300 image.
        var images = mail.BodyParts.OfType<MimeKit.MimePart>().Where(p => p.ContentType.MimeType == "image/png").ToList();
        Assert.Equal(4, images.Count);
        foreach (var image in images)
        {
            Assert.Contains($"src=\"cid:{image.ContentId}\"", html);
            using var bytes = new MemoryStream();
            Assert.NotNull(image.Content);
            image.Content.DecodeTo(bytes);
            using var bitmap = SkiaSharp.SKBitmap.Decode(bytes.ToArray());
            Assert.NotNull(bitmap);
            Assert.Equal((640, 300), (bitmap.Width, bitmap.Height));
        }

        // The figures, computed here from the audit files the real writer wrote.
        var records = AuditFiles.Read(audit)
            .Where(r => DateTimeOffset.Parse(r.Str("time")!) is var t && t >= From && t < Until).ToList();
        var blocked = records.Where(r => r.Str("action") == "block" && r.Str("rule") != "audit-unavailable").ToList();
        Assert.True(blocked.Count > 50 && records.Count > blocked.Count, $"test data too thin: {blocked.Count} of {records.Count}");
        Assert.Equal([("requests", records.Count), ("blocked", blocked.Count)], ReportTestData.Table(html, "summary").Take(2));
        Assert.Equal(ReportTestData.Tally(blocked.Select(r => r.Str("category") ?? "(no category)")), ReportTestData.Table(html, "blocked-by-category"));
        Assert.Equal(ReportTestData.Tally(blocked.SelectMany(r => r.TryGetProperty("roles", out var roles) ? roles.EnumerateArray().Select(x => x.GetString()!) : ["(no role)"])),
            ReportTestData.Table(html, "blocked-by-role"));
        Assert.Equal(ReportTestData.Tally(blocked.Select(r => r.Str("network") ?? "(no network)")), ReportTestData.Table(html, "blocked-by-network"));
        Assert.Equal(ReportTestData.Tally(blocked.Select(r => r.Str("url")![..r.Str("url")!.LastIndexOf(':')])).Take(10), ReportTestData.Table(html, "top-blocked-hosts"));
        var statutory = ReportTestData.Tally(blocked.Where(r => r.Str("rule")!.StartsWith("statutory:")).Select(r => r.Str("rule")!["statutory:".Length..]));
        Assert.NotEmpty(statutory);
        Assert.Equal(statutory, ReportTestData.Table(html, "statutory-hits"));
        Assert.Equal(ReportTestData.Tally(records.Where(r => r.TryGetProperty("alert", out _)).Select(r => r.Str("severity")!)), ReportTestData.Table(html, "alerts-by-severity"));
        Assert.Equal(blocked.Count, ReportTestData.Table(html, "blocked-by-day").Sum(d => d.Count));
        Assert.Equal(7, ReportTestData.Table(html, "blocked-by-day").Count);

        // Aggregate: no user name appears anywhere in the report.
        foreach (var user in new[] { "pupil1", "staff1", "marketing1" })
        {
            Assert.DoesNotContain(user, raw);
        }
        // List freshness: every list of the policy with its entry count.
        Assert.Contains("data-list=\"lists/terrorism.sha256\"", html);
        Assert.Contains("data-list=\"lists/social-extra.txt\"", html);
    }

    [Fact]
    public async Task ReportWeekly_Out_WritesTheSameHtmlWithDataUriCharts()
    {
        var dir = TempDir.Create("weekly-out");
        var audit = Path.Combine(dir, "logs");
        ReportTestData.Write(audit, From, Until, 100, seed: 7);
        var settings = Settings(dir, audit, SmtpSink.FreePort(), RepoPaths.Sample("default"));
        var file = Path.Combine(dir, "week.html");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(["report", "weekly", "--week", "2026-W48", "--out", file, "--config", settings], stdout, stderr, new StringReader(""));
        Assert.True(exit == 0, stdout + "\n" + stderr);
        var html = await File.ReadAllTextAsync(file);
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Count(html, "src=\"data:image/png;base64,"));
        Assert.Contains("data-week=\"2026-W48\"", html);

        var bad = await CliCommands.RunAsync(["report", "weekly", "--week", "2026-W54", "--config", settings], stdout, stderr, new StringReader(""));
        Assert.Equal(2, bad);
        Assert.Contains("--week: '2026-W54': 2026 has 53 ISO weeks", stderr.ToString());
    }
}
