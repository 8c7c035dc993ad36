using Serilog.Events;
using Serilog.Parsing;

namespace FilterService.OperationalLog;

/// <summary>
/// The operational log's sinks as /health and the metrics see them (<see cref="SinkState"/> each), and Serilog's
/// own error channel (<see cref="SelfLogCapture"/>). A sink that cannot write makes the service "degraded" and names
/// the sink and the error in <c>problems</c>; the proxy keeps serving: the operational log is not the audit log.
/// </summary>
internal sealed class OperationalLogStatus(IReadOnlyList<SinkState> sinks, ConsoleFormat consoleFormat, Serilog.ILogger logger, TimeProvider time)
{
    /// <summary>Event id of the start-up line when it is written as an event (JSON console).</summary>
    public const int ListeningEventId = 1001;

    private static readonly MessageTemplate Listening = new MessageTemplateParser()
        .Parse("Proxy listening on {Proxy}; admin on {Admin}; policy {PolicyVersion} from {PolicyDirectory}");

    public IReadOnlyList<SinkState> Sinks { get; } = sinks;

    public ConsoleFormat ConsoleFormat { get; } = consoleFormat;

    public IEnumerable<string> Problems() =>
        Sinks.Where(s => s.Failing).Select(s => $"the operational log's {s.Name} sink cannot write{(s.Path is null ? "" : $" {s.Path}")}: {s.Cause}");

    /// <summary>
    /// The start-up line ("Proxy listening on ...") as a JSON event when the console is JSON, so every line a SIEM
    /// reads from standard output parses; whatever the levels, as the plain line is. False: the caller prints it.
    /// </summary>
    public bool TryWriteStartLine(string proxy, string admin, string policyVersion, string policyDirectory)
    {
        if (ConsoleFormat != ConsoleFormat.Json)
        {
            return false;
        }
        logger.Write(new LogEvent(time.GetLocalNow(), LogEventLevel.Information, null, Listening,
        [
            new LogEventProperty("Proxy", new ScalarValue(proxy)),
            new LogEventProperty("Admin", new ScalarValue(admin)),
            new LogEventProperty("PolicyVersion", new ScalarValue(policyVersion)),
            new LogEventProperty("PolicyDirectory", new ScalarValue(policyDirectory)),
            new LogEventProperty("SourceContext", new ScalarValue("FilterService.Hosting.ProxyHost")), // ProxyHost's category, by name: OperationalLog sits below Hosting
            new LogEventProperty("EventId", new StructureValue([new LogEventProperty("Id", new ScalarValue(ListeningEventId))])),
        ]));
        return true;
    }

    /// <summary>The <c>operationalLog</c> section of /health.</summary>
    public object Health() => new
    {
        console = ConsoleFormat.ToString(),
        sinks = Sinks.Select(s => new
        {
            name = s.Name,
            format = s.Format,
            path = s.Path,
            writable = !s.Failing,
            failure = s.Cause,
            written = s.Written,
            dropped = s.Dropped,
            queued = s.Queued,
            queueCapacity = s.Capacity,
            errors = s.Errors,
            lastError = s.LastError.Message,
            lastErrorAt = s.LastError.At,
        }),
        selfLog = new { messages = SelfLogCapture.Messages, last = SelfLogCapture.Last },
    };
}
