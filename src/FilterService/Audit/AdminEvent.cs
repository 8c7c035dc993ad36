using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FilterService.Audit;

/// <summary>
/// Something an admin did in the console that the audit trail must show (issue 18): a sign-in, a failed one, a
/// lockout, a sign-out, an account change. One JSON line in the audit file beside the decisions, told apart by its
/// <c>event</c> field (decisions have none): <c>{"time":…,"event":"console-sign-in","admin":"jo","client":"10.0.0.5","outcome":"failed"}</c>.
/// Never a password.
/// </summary>
/// <param name="Event">What happened: <c>console-sign-in</c>, <c>console-sign-out</c>, <c>console-account</c>, …</param>
/// <param name="Admin">The account name as typed or signed in (may name no account).</param>
/// <param name="Client">The browser's address.</param>
/// <param name="Outcome">ok, failed, locked, disabled, or what was changed.</param>
/// <param name="Detail">Optional words for the reader (the account changed, the new role).</param>
internal sealed record AdminEvent(DateTimeOffset At, string Event, string? Admin, string? Client, string Outcome, string? Detail = null)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The record as one JSON object (no newline).</summary>
    public void Write(IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output, WriterOptions);
        w.WriteStartObject();
        w.WriteString("time", At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteString("event", Event);
        if (!string.IsNullOrEmpty(Admin))
        {
            w.WriteString("admin", Admin);
        }
        if (!string.IsNullOrEmpty(Client))
        {
            w.WriteString("client", Client);
        }
        w.WriteString("outcome", Outcome);
        if (!string.IsNullOrEmpty(Detail))
        {
            w.WriteString("detail", Detail);
        }
        w.WriteEndObject();
        w.Flush();
    }
}
