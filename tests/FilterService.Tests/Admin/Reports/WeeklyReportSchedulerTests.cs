using FilterService.Admin;
using FilterService.Admin.Reports;
using FilterService.Notifications;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using PolicyModel.Documents;

namespace FilterService.Tests.Admin.Reports;

/// <summary>The schedule (Cronos, policy time zone) on the fake clock; the email goes to a real SMTP server.</summary>
public sealed class WeeklyReportSchedulerTests
{
    private static (WeeklyReportScheduler Scheduler, ConsoleDatabase Db) Create(FakeTime time, string dir, int smtpPort, string schedule, ConsoleDatabase? db = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Alerts:Smtp:Host"] = "127.0.0.1",
            ["Alerts:Smtp:Port"] = smtpPort.ToString(),
            ["Alerts:Smtp:Security"] = "None",
            ["Alerts:Email:From"] = "filter@school.test",
            ["Alerts:Email:To"] = "alerts@school.test",
            ["Reports:Weekly:Recipients"] = "dsl@school.test",
            ["Reports:Weekly:Schedule"] = schedule,
        }).Build();
        var problems = new List<string>();
        var alerts = AlertOptions.Bind(configuration, dir, problems);
        var reports = ReportsOptions.Bind(configuration, alerts, problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var policy = PolicyLoader.Load(RepoPaths.Sample("default")).Snapshot!;
        db ??= new ConsoleDatabase(Path.Combine(dir, "console", "console.db"));
        var builder = new WeeklyReportBuilder(new ReportSources(() => policy, Path.Combine(dir, "logs"), time, reports!.Weekly, new HeartbeatStore(db), null, null, () => []));
        return (new WeeklyReportScheduler(builder, new WeeklyReportMailer(alerts!, reports.Weekly, time), db, reports.Weekly, time,
            NullLogger<WeeklyReportScheduler>.Instance), db);
    }

    [Fact]
    public async Task Tick_MondaySevenLondon_SendsLastWeekOnce_EvenAfterARestart_ThenTheNextWeek()
    {
        var dir = TempDir.Create("schedule");
        await using var sink = await SmtpSink.StartAsync();
        // Monday 30 Nov 2026 06:59 in London (GMT): one minute before the default schedule "0 7 * * MON".
        var time = new FakeTime(new DateTimeOffset(2026, 11, 30, 6, 59, 0, TimeSpan.Zero));
        var (scheduler, db) = Create(time, dir, sink.Port, "0 7 * * MON");

        Assert.Null(await scheduler.TickAsync());
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal("2026-W48", (await scheduler.TickAsync())?.ToString());
        Assert.Null(await scheduler.TickAsync());
        var mail = Assert.Single(await sink.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Contains("Weekly filtering report 2026-W48", mail);

        // A restart an hour later: the week is recorded as sent in console.db, so it is not sent again.
        time.Advance(TimeSpan.FromHours(1));
        var (restarted, _) = Create(time, dir, sink.Port, "0 7 * * MON", db);
        Assert.Null(await restarted.TickAsync());

        time.Advance(TimeSpan.FromDays(7));
        Assert.Equal("2026-W49", (await restarted.TickAsync())?.ToString());
        Assert.Equal(2, (await sink.WaitForAsync(2, TimeSpan.FromSeconds(30))).Count);
    }

    [Fact]
    public async Task Tick_SummerTime_FollowsLondonWallClock_AndAMissedSendOlderThanADayIsSkipped()
    {
        var dir = TempDir.Create("schedule-bst");
        await using var sink = await SmtpSink.StartAsync();
        // Monday 6 July 2026 07:00 BST is 06:00 UTC.
        var time = new FakeTime(new DateTimeOffset(2026, 7, 6, 5, 59, 0, TimeSpan.Zero));
        var (scheduler, _) = Create(time, dir, sink.Port, "0 7 * * MON");
        Assert.Null(await scheduler.TickAsync());
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("2026-W27", (await scheduler.TickAsync())?.ToString());

        // Down from before the next Monday until the Wednesday: more than a day late, that week is not sent.
        time.Advance(TimeSpan.FromDays(9));
        Assert.Null(await scheduler.TickAsync());
        Assert.Single(await sink.WaitForAsync(1, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Tick_SmtpServerDown_IsNotMarkedSent_AndGoesOutWhenTheServerIsBack()
    {
        var dir = TempDir.Create("schedule-down");
        var port = SmtpSink.FreePort();
        var time = new FakeTime(new DateTimeOffset(2026, 11, 30, 7, 0, 30, TimeSpan.Zero));
        var (scheduler, _) = Create(time, dir, port, "0 7 * * MON");
        Assert.Null(await scheduler.TickAsync());
        Assert.False(scheduler.WasSent(ReportWeek.Parse("2026-W48", NodaTime.DateTimeZoneProviders.Tzdb["Europe/London"], out _)!));

        await using var sink = await SmtpSink.StartAsync(port);
        time.Advance(WeeklyReportScheduler.RetryEvery);
        Assert.Equal("2026-W48", (await scheduler.TickAsync())?.ToString());
        Assert.Single(await sink.WaitForAsync(1, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Bind_BadScheduleAndRecipientsWithoutSmtp_ListsEveryProblem()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Reports:Weekly:Recipients"] = "dsl@school.test, not-an-address",
            ["Reports:Weekly:Schedule"] = "0 7 * MON",
            ["Reports:Review:At"] = "Someday 25:00",
        }).Build();
        var problems = new List<string>();
        var alerts = AlertOptions.Bind(configuration, TempDir.Create("bind"), problems);
        Assert.Null(ReportsOptions.Bind(configuration, alerts, problems));
        Assert.Contains(problems, p => p.StartsWith("Reports:Weekly:Schedule: '0 7 * MON' is not a cron expression"));
        Assert.Contains("Reports:Weekly:Recipients: 'not-an-address' is not an email address", problems);
        Assert.Contains("Reports:Weekly:Recipients: the weekly report is sent through the alert SMTP settings; set Alerts:Smtp:Host and Alerts:Email:From", problems);
        Assert.Contains("Reports:Review:At: 'Someday 25:00' is not a weekday and a time such as 'Wed 10:30'", problems);
    }
}
