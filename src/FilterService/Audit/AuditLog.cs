using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using FilterService.Hosting;
using PolicyModel.Decisions;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;

namespace FilterService.Audit;

/// <summary>
/// The audit log: one JSON line per decision in <c>audit-YYYYMMDD.json</c>, rolled daily and kept for
/// <c>Audit:RetainDays</c>, and optionally the same in Squid's native access.log format. Serilog is configured
/// here and nowhere else; writes go through an async sink so the request thread only enqueues.
/// </summary>
internal sealed class AuditLog : IDecisionObserver, IDisposable
{
    private const string RecordProperty = "r";
    private static readonly MessageTemplate Template = new Serilog.Parsing.MessageTemplateParser().Parse("{r}");

    private readonly Logger _json;
    private readonly Logger? _squid;
    private readonly bool _blockedOnly;

    public AuditLog(AuditOptions options)
    {
        Directory.CreateDirectory(options.Path);
        _blockedOnly = options.Log == AuditScope.Blocked;
        _json = Create(options, new JsonLineFormatter(), "audit-.json");
        _squid = options.SquidFormat ? Create(options, new SquidFormatter(), "access-.log") : null;
    }

    private static Logger Create(AuditOptions options, ITextFormatter formatter, string name) =>
        new LoggerConfiguration()
            .MinimumLevel.Information()
            .WriteTo.Async(a => a.File(
                formatter,
                Path.Combine(options.Path, name),
                rollingInterval: RollingInterval.Day,
                retainedFileCountLimit: options.RetainDays,
                fileSizeLimitBytes: null,
                // Written in 4 KB blocks, flushed and fsynced every second, rather than a write() per record. A crash
                // can lose at most that second, as it can lose the records still queued for this sink; alerts have
                // their own fsynced outbox.
                buffered: true,
                flushToDiskInterval: TimeSpan.FromSeconds(1)),
                bufferSize: 100_000,
                // An audit trail with holes is no audit trail: if the disk falls 100k records behind, requests wait.
                blockWhenFull: true)
            .CreateLogger();

    public void OnDecision(DecisionRecord record)
    {
        if (_blockedOnly && record.Action != DecisionAction.Block)
        {
            return;
        }
        var properties = new[] { new LogEventProperty(RecordProperty, new ScalarValue(record)) };
        var evt = new LogEvent(record.At, LogEventLevel.Information, null, Template, properties);
        _json.Write(evt);
        _squid?.Write(evt);
    }

    public void Dispose()
    {
        _json.Dispose();
        _squid?.Dispose();
    }

    private static DecisionRecord? RecordOf(LogEvent evt) =>
        evt.Properties.TryGetValue(RecordProperty, out var v) && v is ScalarValue { Value: DecisionRecord r } ? r : null;

    /// <summary>Writes the record as one JSON object per line; runs on the async sink's thread.</summary>
    internal sealed class JsonLineFormatter : ITextFormatter
    {
        private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        public void Format(LogEvent logEvent, TextWriter output)
        {
            if (RecordOf(logEvent) is { } r)
            {
                output.Write(ToJson(r));
                output.Write('\n');
            }
        }

        public static string ToJson(DecisionRecord r)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
            using (var w = new Utf8JsonWriter(buffer, WriterOptions))
            {
                w.WriteStartObject();
                w.WriteString("time", r.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                w.WriteString("client", r.Client.ToString());
                w.WriteString("user", r.User);
                w.WriteStartArray("roles");
                foreach (var role in r.Roles)
                {
                    w.WriteStringValue(role);
                }
                w.WriteEndArray();
                w.WriteString("network", r.Network);
                w.WriteString("method", r.Method);
                w.WriteString("url", r.Target);
                w.WriteString("action", r.Action == DecisionAction.Block ? "block" : "allow");
                w.WriteString("rule", r.Rule);
                w.WriteString("category", r.Category);
                if (r.Decision is { } d)
                {
                    if (d.List is not null)
                    {
                        w.WriteString("list", d.List);
                    }
                    w.WriteString("reason", d.Reason);
                    if (d.Until is { } until)
                    {
                        w.WriteString("until", until.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
                    }
                    if (d.Alert)
                    {
                        w.WriteBoolean("alert", true);
                        w.WriteString("severity", d.Severity.ToString().ToLowerInvariant());
                    }
                }
                w.WriteNumber("status", r.Status);
                w.WriteNumber("bytes_in", r.BytesFromClient);
                w.WriteNumber("bytes_out", r.BytesToClient);
                w.WriteNumber("duration_ms", Math.Round(r.Duration.TotalMilliseconds, 1, MidpointRounding.AwayFromZero));
                w.WriteString("ref", r.Reference);
                w.WriteString("policy", r.PolicyVersion);
                if (r.UpstreamAddress is not null)
                {
                    w.WriteString("upstream", r.UpstreamAddress);
                }
                w.WriteEndObject();
            }
            return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
    }

    /// <summary>
    /// Squid's native format (<c>logformat squid</c>): time.ms elapsed client code/status bytes method URL user
    /// hierarchy/peer type. Fields never contain spaces; an absent one is <c>-</c>.
    /// </summary>
    internal sealed class SquidFormatter : ITextFormatter
    {
        public void Format(LogEvent logEvent, TextWriter output)
        {
            if (RecordOf(logEvent) is { } r)
            {
                output.Write(ToLine(r));
                output.Write('\n');
            }
        }

        public static string ToLine(DecisionRecord r)
        {
            var seconds = r.At.ToUnixTimeMilliseconds() / 1000.0;
            string code = r.Action == DecisionAction.Block || r.Status is 403 or 407 or 400 or 405 or 429
                ? "TCP_DENIED"
                : r.Method == "CONNECT" ? "TCP_TUNNEL" : r.Status >= 500 ? "TCP_MISS_ABORTED" : "TCP_MISS";
            string hierarchy = r.UpstreamAddress is null ? "HIER_NONE/-" : "HIER_DIRECT/" + r.UpstreamAddress;
            return string.Create(CultureInfo.InvariantCulture,
                $"{seconds:0.000} {(long)r.Duration.TotalMilliseconds,6} {r.Client} {code}/{r.Status:000} {r.BytesToClient} {r.Method} {Token(r.Target)} {Token(r.User)} {hierarchy} {Token(r.ContentType)}");
        }

        private static string Token(string? s) =>
            string.IsNullOrEmpty(s) ? "-" : s.AsSpan().IndexOfAny(' ', '\t', '\n') < 0 ? s : Uri.EscapeDataString(s);
    }
}
