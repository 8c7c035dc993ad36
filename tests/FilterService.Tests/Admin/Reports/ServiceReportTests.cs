using System.Net;
using FilterService.Admin;
using FilterService.Admin.Reports;
using FilterService.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin.Reports;

/// <summary>The service, started as its own process, writes the heartbeats and the audit records the weekly report is made from.</summary>
public sealed class ServiceReportTests
{
    [Fact]
    public async Task Service_WritesStartAndStopHeartbeats_AndTheReportCountsItsOwnStatutoryBlock()
    {
        var dir = TempDir.Create("service-report");
        var audit = Path.Combine(dir, "logs");
        var policy = RepoPaths.CopyToTemp(RepoPaths.Sample("default"));
        await using (var service = await ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={audit}"]))
        {
            await using var raw = await RawClient.ConnectAsync(new(IPAddress.Loopback, service.ProxyPort));
            await raw.SendAsync("GET http://blocked-terror.test/ HTTP/1.1\r\nHost: blocked-terror.test\r\n\r\n");
            var (text, _) = await raw.ReadAllAsync(TimeSpan.FromSeconds(10), t => t.Contains("</html>"));
            Assert.StartsWith("HTTP/1.1 403", text);
            await AuditFiles.WaitForAsync(audit, r => r.Str("rule") == "statutory:terrorism", "the statutory block");
            // A clean stop (SIGTERM, as systemd stops it): the service records it.
            await Command.RunAsync(TimeSpan.FromSeconds(10), "kill", "-TERM", service.ProcessId.ToString());
            Assert.Equal(0, await service.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        var beats = new HeartbeatStore(new ConsoleDatabase(Path.Combine(audit, "console", "console.db")))
            .List(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(BeatKind.Start, beats[0].Kind);
        Assert.Equal(BeatKind.Stop, beats[^1].Kind);
        Assert.Single(beats.Select(b => b.Run).Distinct());

        var records = AuditFiles.Read(audit);
        var at = DateTimeOffset.Parse(records.Last(r => r.Str("rule") == "statutory:terrorism").Str("time")!);
        var week = ReportWeek.Containing(at, NodaTime.DateTimeZoneProviders.Tzdb["Europe/London"]);
        var inWeek = records.Where(r => DateTimeOffset.Parse(r.Str("time")!) is var t && t >= week.From && t < week.Until).ToList();
        var settings = WeeklyReportEmailTests.Settings(dir, audit, SmtpSink.FreePort(), policy);
        var file = Path.Combine(dir, "week.html");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await CliCommands.RunAsync(["report", "weekly", "--week", week.ToString(), "--out", file, "--config", settings], stdout, stderr, new StringReader(""));
        Assert.True(exit == 0, stdout + "\n" + stderr);
        var html = await File.ReadAllTextAsync(file);
        Assert.Equal(("requests", (long)inWeek.Count), ReportTestData.Table(html, "summary")[0]);
        Assert.Equal([("terrorism", (long)inWeek.Count(r => r.Str("rule") == "statutory:terrorism"))], ReportTestData.Table(html, "statutory-hits"));
        Assert.Contains("data-monitored=\"true\"", html);
    }
}
