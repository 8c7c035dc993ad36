using System.Diagnostics.Metrics;

namespace FilterService.OperationalLog;

/// <summary>
/// The operational log's instruments, on the meter <c>FilterService.OperationalLog</c> from the host's
/// <see cref="IMeterFactory"/> (the exporter takes every <c>FilterService*</c> meter): per sink (<c>sink</c> is
/// <c>console</c> or <c>file</c>), events written, dropped at a full queue, errors, events queued, and whether it
/// writes. Resolved once when the service is built.
/// </summary>
internal sealed class OperationalLogMetrics
{
    public const string MeterName = "FilterService.OperationalLog";

    public OperationalLogMetrics(IMeterFactory factory, OperationalLogStatus status)
    {
        var meter = factory.Create(MeterName);
        IEnumerable<Measurement<long>> PerSink(Func<SinkState, long> value) =>
            status.Sinks.Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("sink", s.Name)));
        meter.CreateObservableCounter("filterservice.log.events.written", () => PerSink(s => s.Written), "{event}",
            "Operational log events written, by sink (console, file).");
        meter.CreateObservableCounter("filterservice.log.events.dropped", () => PerSink(s => s.Dropped), "{event}",
            "Operational log events dropped because the sink's queue was full (Logging:QueueCapacity), by sink.");
        meter.CreateObservableCounter("filterservice.log.sink_errors", () => PerSink(s => s.Errors), "{error}",
            "Operational log sink failures (an event not written, a file not opened or not deleted), by sink.");
        meter.CreateObservableGauge("filterservice.log.sink.writable", () => PerSink(s => s.Failing ? 0 : 1), "1",
            "1 while the sink writes; 0 from an event it could not write until one it writes.");
        meter.CreateObservableGauge("filterservice.log.queued", () => PerSink(s => s.Queued), "{event}",
            "Operational log events waiting in the sink's queue, by sink.");
    }
}
