using System.Diagnostics.Metrics;

namespace FilterService.Admin.Reports;

/// <summary>
/// The reports' instruments on the <c>FilterService.Reports</c> meter (exported as <c>filterservice_reports_*</c>):
/// weekly reports sent and failed, when the last one went out, and heartbeats that could not be written (each one
/// shows as downtime in the next report). Thread-safe.
/// </summary>
internal sealed class ReportMetrics
{
    public const string MeterName = "FilterService.Reports";

    private readonly Counter<long> _sent;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _heartbeatFailures;
    private long _lastSentUnix;

    public ReportMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _sent = meter.CreateCounter<long>("filterservice.reports.weekly.sent", "{report}", "Weekly reports emailed.");
        _failed = meter.CreateCounter<long>("filterservice.reports.weekly.failures", "{attempt}",
            "Weekly report sends that failed (tried again every 5 minutes for a day).");
        _heartbeatFailures = meter.CreateCounter<long>("filterservice.reports.heartbeat.failures", "{beat}",
            "Heartbeats that could not be written to console.db; the weekly report shows those minutes as down.");
        meter.CreateObservableGauge("filterservice.reports.weekly.last_sent.timestamp", () =>
            Interlocked.Read(ref _lastSentUnix) is var t && t > 0 ? [new Measurement<long>(t)] : Array.Empty<Measurement<long>>(), "s",
            "Unix time the last weekly report was sent by this process; absent before the first.");
    }

    public void Sent(DateTimeOffset at)
    {
        _sent.Add(1);
        Interlocked.Exchange(ref _lastSentUnix, at.ToUnixTimeSeconds());
    }

    public void SendFailed() => _failed.Add(1);

    public void HeartbeatFailed() => _heartbeatFailures.Add(1);
}
