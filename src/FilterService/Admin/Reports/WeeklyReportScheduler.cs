using Cronos;

namespace FilterService.Admin.Reports;

/// <summary>
/// Sends the weekly report on <c>Reports:Weekly:Schedule</c> (cron, in the policy's time zone) to
/// <c>Reports:Weekly:Recipients</c>. Each occurrence reports the last whole week before it. What was sent is recorded in
/// console.db (<c>report_sends</c>), so a restart neither sends a week twice nor forgets one: an occurrence missed while
/// the service was down is sent when it starts, if it is less than <see cref="Grace"/> old. A failed send is logged at
/// Error and tried again every <see cref="RetryEvery"/> within the grace period. Time comes from the injected
/// <see cref="TimeProvider"/>: tests call <see cref="TickAsync"/> with a fake clock.
/// </summary>
internal sealed partial class WeeklyReportScheduler(WeeklyReportBuilder builder, WeeklyReportMailer mailer, ConsoleDatabase db, WeeklySettings settings,
    TimeProvider time, ILogger<WeeklyReportScheduler> logger, ReportMetrics? metrics = null) : BackgroundService
{
    public static readonly TimeSpan Grace = TimeSpan.FromDays(1);
    public static readonly TimeSpan RetryEvery = TimeSpan.FromMinutes(5);

    private readonly CronExpression _cron = CronExpression.Parse(settings.Schedule);
    private bool _schema;

    /// <summary>The occurrence due now (the latest at or before now, within <see cref="Grace"/>), or null.</summary>
    public DateTimeOffset? DueOccurrence(DateTimeOffset now)
    {
        var zone = Zone();
        return _cron.GetOccurrences(now - Grace, now, zone, fromInclusive: true, toInclusive: true).Select(o => (DateTimeOffset?)o).LastOrDefault();
    }

    /// <summary>Sends the report of the due occurrence unless it was sent. Returns the week sent, or null.</summary>
    public async Task<ReportWeek?> TickAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        if (DueOccurrence(now) is not { } due)
        {
            return null;
        }
        var week = ReportWeek.LastCompleteBefore(due, builder.Sources.Policy().TimeZone);
        try
        {
            if (WasSent(week))
            {
                return null;
            }
            var report = await builder.BuildAsync(week, cancellationToken);
            await mailer.SendAsync(report, cancellationToken);
            MarkSent(week, time.GetUtcNow());
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever failed (console.db, the audit files, the SMTP server), the filter goes on: a BackgroundService that
            // throws would stop the host.
            metrics?.SendFailed();
            LogSendFailed(logger, week.ToString(), ex.Message);
            return null;
        }
        metrics?.Sent(time.GetUtcNow());
        LogSent(logger, week.ToString(), mailer.Recipients.Count);
        return week;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var wait = RetryEvery;
                try
                {
                    await TickAsync(stoppingToken);
                    var now = time.GetUtcNow();
                    if (_cron.GetNextOccurrence(now, Zone()) is { } next && next - now < RetryEvery)
                    {
                        wait = next - now + TimeSpan.FromSeconds(1);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSendFailed(logger, "(schedule)", ex.Message);
                }
                await Task.Delay(wait, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private TimeZoneInfo Zone() => TimeZoneInfo.FindSystemTimeZoneById(builder.Sources.Policy().TimeZone.Id);

    private void EnsureSchema()
    {
        if (!_schema)
        {
            db.EnsureSchema("CREATE TABLE IF NOT EXISTS report_sends (week TEXT PRIMARY KEY, sent_at_ms INTEGER NOT NULL);");
            _schema = true;
        }
    }

    public bool WasSent(ReportWeek week)
    {
        EnsureSchema();
        using var connection = db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM report_sends WHERE week = $week";
        command.Parameters.AddWithValue("$week", week.ToString());
        return command.ExecuteScalar() is not null;
    }

    private void MarkSent(ReportWeek week, DateTimeOffset at)
    {
        EnsureSchema();
        using var connection = db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT OR IGNORE INTO report_sends VALUES ($week, $at)";
        command.Parameters.AddWithValue("$week", week.ToString());
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
    }

    [LoggerMessage(EventId = 1901, Level = LogLevel.Information, Message = "Weekly report {Week} sent to {Recipients} recipient(s)")]
    private static partial void LogSent(ILogger logger, string week, int recipients);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Error, Message = "Weekly report {Week} could not be sent: {Error}; trying again in 5 minutes")]
    private static partial void LogSendFailed(ILogger logger, string week, string error);
}
