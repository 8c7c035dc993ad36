using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using PolicyModel.Decisions;

namespace FilterService.Notifications;

/// <summary>
/// What operators need to see about alerts: per channel, how many are pending in the outbox, delivered and failed
/// (a failed delivery is one that exhausted its retries; the incident stays pending and is tried again), and how
/// many incidents were raised by severity. Simple properties for the metrics issue to publish, and the same numbers
/// as instruments on the <c>FilterService.Alerts</c> meter. Tags are low-cardinality: channel and severity only.
/// </summary>
internal sealed class AlertStats
{
    public const string MeterName = "FilterService.Alerts";

    private readonly ConcurrentDictionary<string, Counts> _channels = new(StringComparer.Ordinal);
    private readonly long[] _raised = new long[4];
    private readonly Outbox _outbox;
    private readonly Counter<long> _deliveredCounter;
    private readonly Counter<long> _failedCounter;
    private readonly Counter<long> _raisedCounter;

    public AlertStats(Outbox outbox, IEnumerable<string> channels, IMeterFactory meters)
    {
        _outbox = outbox;
        foreach (var c in channels)
        {
            _channels[c] = new Counts();
        }
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("filterservice.alerts.pending", () => Channels.Select(c =>
            new Measurement<long>(Pending(c), new KeyValuePair<string, object?>("channel", c))), "{alert}", "Alerts in the outbox not yet delivered on the channel");
        _deliveredCounter = meter.CreateCounter<long>("filterservice.alerts.delivered", "{alert}", "Alerts delivered, by channel");
        _failedCounter = meter.CreateCounter<long>("filterservice.alerts.failed", "{attempt}", "Deliveries that exhausted their retries (the alert stays pending)");
        _raisedCounter = meter.CreateCounter<long>("filterservice.alerts.raised", "{incident}", "Alerting decisions recorded, by severity");
        meter.CreateObservableCounter("filterservice.alerts.outbox.write_failures", () => outbox.WriteFailures, "{write}",
            "Outbox journal writes that failed (a full disk); each retry counts");
        meter.CreateObservableGauge("filterservice.alerts.outbox.not_durable", () => (long)outbox.NotDurable, "{incident}",
            "Incidents held only in memory because the outbox could not be written yet; /health is degraded while above 0");

        // Every configured channel has its series from the first scrape, so increase() and "failing" alerts see a zero
        // rather than no data until something is delivered.
        foreach (var c in _channels.Keys)
        {
            _deliveredCounter.Add(0, new KeyValuePair<string, object?>("channel", c));
            _failedCounter.Add(0, new KeyValuePair<string, object?>("channel", c));
        }
    }

    public IEnumerable<string> Channels => _channels.Keys.Order();

    /// <summary>Alerts (and summaries) in the outbox not yet delivered on <paramref name="channel"/>.</summary>
    public long Pending(string channel) => _outbox.PendingCount(channel);

    public long Delivered(string channel) => _channels.TryGetValue(channel, out var c) ? Interlocked.Read(ref c.Delivered) : 0;

    public long Failed(string channel) => _channels.TryGetValue(channel, out var c) ? Interlocked.Read(ref c.Failed) : 0;

    /// <summary>Incidents held only in memory (the outbox write failed or is still in progress); /health is degraded while above 0.</summary>
    public int NotDurable => _outbox.NotDurable;

    public long OutboxWriteFailures => _outbox.WriteFailures;

    public long Raised(AlertSeverity severity) => Interlocked.Read(ref _raised[(int)severity]);

    public void OnRaised(AlertSeverity severity)
    {
        Interlocked.Increment(ref _raised[(int)severity]);
        _raisedCounter.Add(1, new KeyValuePair<string, object?>("severity", severity.ToString().ToLowerInvariant()));
    }

    public void OnDelivered(string channel, int alerts)
    {
        Interlocked.Add(ref _channels.GetOrAdd(channel, _ => new Counts()).Delivered, alerts);
        _deliveredCounter.Add(alerts, new KeyValuePair<string, object?>("channel", channel));
    }

    public void OnFailed(string channel)
    {
        Interlocked.Increment(ref _channels.GetOrAdd(channel, _ => new Counts()).Failed);
        _failedCounter.Add(1, new KeyValuePair<string, object?>("channel", channel));
    }

    private sealed class Counts
    {
        public long Delivered;
        public long Failed;
    }
}
