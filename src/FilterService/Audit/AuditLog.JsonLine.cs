using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PolicyModel.Decisions;

namespace FilterService.Audit;

internal sealed partial class AuditLog
{
    /// <summary>Writes the record as one JSON object (no newline).</summary>
    internal static partial class JsonLineFormatter
    {
        private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

        [ThreadStatic] private static Utf8JsonWriter? t_writer;

        private static readonly JsonEncodedText Time = JsonEncodedText.Encode("time"), Client = JsonEncodedText.Encode("client"),
            User = JsonEncodedText.Encode("user"), Roles = JsonEncodedText.Encode("roles"), Network = JsonEncodedText.Encode("network"),
            Method = JsonEncodedText.Encode("method"), Url = JsonEncodedText.Encode("url"), Action = JsonEncodedText.Encode("action"),
            Rule = JsonEncodedText.Encode("rule"), Category = JsonEncodedText.Encode("category"), List = JsonEncodedText.Encode("list"),
            Until = JsonEncodedText.Encode("until"), Alert = JsonEncodedText.Encode("alert"),
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

        /// <summary>Writes the record: <see cref="Plain"/> when it can, else <see cref="Utf8JsonWriter"/>.</summary>
        public static void Write(DecisionRecord r, IBufferWriter<byte> output)
        {
            if (!Plain.TryWrite(r, output))
            {
                WriteEscaped(r, output);
            }
        }

        /// <summary>The general path: <see cref="Utf8JsonWriter"/>, escaping what needs it. Also the reference <see cref="Plain"/> is tested against.</summary>
        internal static void WriteEscaped(DecisionRecord r, IBufferWriter<byte> output)
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
            AuditTimeFormat.Write(r.At, text);
            w.WriteString(Time, text[..AuditTimeFormat.Length]);
            r.Client.TryFormat(text, out int n);
            w.WriteString(Client, text[..n]);
            // Absent rather than null or empty: a busy school keeps 90 days of these (docs/service.md "The audit log").
            if (!string.IsNullOrEmpty(r.User))
            {
                w.WriteString(User, r.User);
            }
            if (r.Roles.Count > 0)
            {
                w.WriteStartArray(Roles);
                for (int i = 0; i < r.Roles.Count; i++)
                {
                    w.WriteStringValue(r.Roles[i]);
                }
                w.WriteEndArray();
            }
            if (!string.IsNullOrEmpty(r.Network))
            {
                w.WriteString(Network, r.Network);
            }
            w.WriteString(Method, r.Method);
            w.WriteString(Url, r.Target);
            w.WriteString(Action, r.Action == DecisionAction.Block ? Block : Allow);
            w.WriteString(Rule, r.Rule);
            if (!string.IsNullOrEmpty(r.Category))
            {
                w.WriteString(Category, r.Category);
            }
            // No reason sentence: the rule and the policy version determine it (explain recovers it, docs/service.md).
            if (r.Decision is { } d)
            {
                if (!string.IsNullOrEmpty(d.List))
                {
                    w.WriteString(List, d.List);
                }
                if (d.Until is { } until)
                {
                    until.UtcDateTime.TryFormat(text, out n, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                    w.WriteString(Until, text[..n]);
                }
                if (d.Alert)
                {
                    w.WriteBoolean(Alert, true);
                    w.WriteString(Severity, SeverityName(d.Severity));
                }
            }
            w.WriteNumber(Status, r.Status);
            w.WriteNumber(BytesIn, r.BytesFromClient);
            w.WriteNumber(BytesOut, r.BytesToClient);
            w.WriteNumber(DurationMs, Math.Round(r.Duration.TotalMilliseconds, 1, MidpointRounding.AwayFromZero));
            w.WriteString(Ref, r.Reference);
            if (!string.IsNullOrEmpty(r.PolicyVersion))
            {
                w.WriteString(Policy, r.PolicyVersion);
            }
            if (r.UpstreamAddress is not null)
            {
                w.WriteString(Upstream, r.UpstreamAddress);
            }
            if (r.SafeSearch is not null)
            {
                w.WriteString("safe_search", r.SafeSearch); // the provider whose safe-search address the tunnel was connected to
            }
            w.WriteEndObject();
            w.Flush();
        }
    }

    /// <summary>An alert's severity as the record names it: the enum's name in lower case, without a string per record.</summary>
    private static string SeverityName(AlertSeverity severity) => severity switch
    {
        AlertSeverity.None => "none",
        AlertSeverity.Low => "low",
        AlertSeverity.Medium => "medium",
        AlertSeverity.High => "high",
        _ => severity.ToString().ToLowerInvariant(),
    };
}
