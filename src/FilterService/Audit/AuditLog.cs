using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FilterService.Hosting;
using PolicyModel.Decisions;

namespace FilterService.Audit;

/// <summary>
/// The audit log: one JSON line per decision in <c>audit-YYYYMMDD.json</c>, rolled daily and kept for
/// <c>Audit:RetainDays</c>, and optionally the same in Squid's native access.log format. The request thread formats
/// its own record into a per-thread buffer and hands the bytes to an <see cref="AuditFile"/>, which writes them.
/// </summary>
internal sealed class AuditLog : IDecisionObserver, IDisposable
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;

    private readonly AuditFile _json;
    private readonly AuditFile? _squid;
    private readonly bool _blockedOnly;

    public AuditLog(AuditOptions options, ILogger<AuditLog> logger, TimeZoneInfo? zone = null)
    {
        _blockedOnly = options.Log == AuditScope.Blocked;
        _json = new AuditFile(options.Path, "audit-", ".json", options.RetainDays, logger, zone);
        _squid = options.SquidFormat ? new AuditFile(options.Path, "access-", ".log", options.RetainDays, logger, zone) : null;
    }

    public void OnDecision(DecisionRecord record)
    {
        if (_blockedOnly && record.Action != DecisionAction.Block)
        {
            return;
        }
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(1024);
        scratch.ResetWrittenCount();
        JsonLineFormatter.Write(record, scratch);
        scratch.Write("\n"u8);
        _json.Append(scratch.WrittenSpan, record.At);
        if (_squid is not null)
        {
            scratch.ResetWrittenCount();
            SquidFormatter.Write(record, scratch);
            scratch.Write("\n"u8);
            _squid.Append(scratch.WrittenSpan, record.At);
        }
    }

    /// <summary>Writes and fsyncs what is queued.</summary>
    public void Dispose()
    {
        _json.Dispose();
        _squid?.Dispose();
    }

    /// <summary>Writes the record as one JSON object (no newline).</summary>
    internal static class JsonLineFormatter
    {
        private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

        [ThreadStatic] private static Utf8JsonWriter? t_writer;

        private static readonly JsonEncodedText Time = JsonEncodedText.Encode("time"), Client = JsonEncodedText.Encode("client"),
            User = JsonEncodedText.Encode("user"), Roles = JsonEncodedText.Encode("roles"), Network = JsonEncodedText.Encode("network"),
            Method = JsonEncodedText.Encode("method"), Url = JsonEncodedText.Encode("url"), Action = JsonEncodedText.Encode("action"),
            Rule = JsonEncodedText.Encode("rule"), Category = JsonEncodedText.Encode("category"), List = JsonEncodedText.Encode("list"),
            Reason = JsonEncodedText.Encode("reason"), Until = JsonEncodedText.Encode("until"), Alert = JsonEncodedText.Encode("alert"),
            Severity = JsonEncodedText.Encode("severity"), Status = JsonEncodedText.Encode("status"), BytesIn = JsonEncodedText.Encode("bytes_in"),
            BytesOut = JsonEncodedText.Encode("bytes_out"), DurationMs = JsonEncodedText.Encode("duration_ms"), Ref = JsonEncodedText.Encode("ref"),
            Policy = JsonEncodedText.Encode("policy"), Upstream = JsonEncodedText.Encode("upstream"),
            Block = JsonEncodedText.Encode("block"), Allow = JsonEncodedText.Encode("allow");

        public static string ToJson(DecisionRecord r)
        {
            var buffer = new ArrayBufferWriter<byte>(512);
            Write(r, buffer);
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        public static void Write(DecisionRecord r, IBufferWriter<byte> output)
        {
            var w = t_writer;
            if (w is null)
            {
                t_writer = w = new Utf8JsonWriter(output, WriterOptions);
            }
            else
            {
                w.Reset(output);
            }
            Span<byte> text = stackalloc byte[64];
            w.WriteStartObject();
            r.At.UtcDateTime.TryFormat(text, out int n, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            w.WriteString(Time, text[..n]);
            r.Client.TryFormat(text, out n);
            w.WriteString(Client, text[..n]);
            w.WriteString(User, r.User);
            w.WriteStartArray(Roles);
            for (int i = 0; i < r.Roles.Count; i++)
            {
                w.WriteStringValue(r.Roles[i]);
            }
            w.WriteEndArray();
            w.WriteString(Network, r.Network);
            w.WriteString(Method, r.Method);
            w.WriteString(Url, r.Target);
            w.WriteString(Action, r.Action == DecisionAction.Block ? Block : Allow);
            w.WriteString(Rule, r.Rule);
            w.WriteString(Category, r.Category);
            if (r.Decision is { } d)
            {
                if (d.List is not null)
                {
                    w.WriteString(List, d.List);
                }
                w.WriteString(Reason, d.Reason);
                if (d.Until is { } until)
                {
                    until.UtcDateTime.TryFormat(text, out n, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                    w.WriteString(Until, text[..n]);
                }
                if (d.Alert)
                {
                    w.WriteBoolean(Alert, true);
                    w.WriteString(Severity, d.Severity.ToString().ToLowerInvariant());
                }
            }
            w.WriteNumber(Status, r.Status);
            w.WriteNumber(BytesIn, r.BytesFromClient);
            w.WriteNumber(BytesOut, r.BytesToClient);
            w.WriteNumber(DurationMs, Math.Round(r.Duration.TotalMilliseconds, 1, MidpointRounding.AwayFromZero));
            w.WriteString(Ref, r.Reference);
            w.WriteString(Policy, r.PolicyVersion);
            if (r.UpstreamAddress is not null)
            {
                w.WriteString(Upstream, r.UpstreamAddress);
            }
            w.WriteEndObject();
            w.Flush();
        }
    }

    /// <summary>
    /// Squid's native format (<c>logformat squid</c>): time.ms elapsed client code/status bytes method URL user
    /// hierarchy/peer type. Fields never contain spaces; an absent one is <c>-</c>.
    /// </summary>
    internal static class SquidFormatter
    {
        public static void Write(DecisionRecord r, IBufferWriter<byte> output)
        {
            var line = ToLine(r);
            int n = Encoding.UTF8.GetBytes(line, output.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length)));
            output.Advance(n);
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
