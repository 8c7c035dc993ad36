using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using PolicyModel.Decisions;

namespace FilterService.Audit;

/// <summary>
/// One audit record as an RFC 5424 syslog message, framed by octet counting (RFC 6587 3.4.1, the framing RFC 5425
/// requires for TLS): <c>LEN SP &lt;PRI&gt;1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [filter@32473 ...] BOM JSON</c>.
/// </summary>
/// <remarks>
/// The structured data element <c>filter@32473</c> (32473 is the private enterprise number RFC 5612 reserves for
/// documentation; a school that has its own PEN may ask for it to be configurable) carries the decision's fields for
/// a SIEM's rules: <c>action rule category list host policy client role network user status ref</c>, each present
/// only when the audit record has it, <c>role</c> repeated per role. <c>user</c> is there exactly when the audit file
/// has it. MSG is the audit file's own JSON line, so the collector holds the same record as the file. MSGID is the
/// action; severity is notice (5) for a block, warning (4) for a block that alerts, informational (6) for the rest.
/// Runs on the exporter's thread, never on a request's.
/// </remarks>
internal sealed class SyslogFormatter(int facility, string hostName, string appName, int processId)
{
    public const string SdId = "filter@32473";

    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    private readonly ArrayBufferWriter<byte> _message = new(2048);
    private readonly string _header = " " + Field(hostName, 255) + " " + Field(appName, 48) + " " + processId.ToString(CultureInfo.InvariantCulture) + " ";

    /// <summary>Appends the framed message (its length, a space, the message) to <paramref name="output"/>.</summary>
    public void Write(DecisionRecord r, IBufferWriter<byte> output)
    {
        _message.ResetWrittenCount();
        Format(r, _message);
        int digits = _message.WrittenCount.ToString(CultureInfo.InvariantCulture).Length;
        var span = output.GetSpan(digits + 1 + _message.WrittenCount);
        Utf8Formatter.TryFormat(_message.WrittenCount, span, out int n);
        span[n++] = (byte)' ';
        _message.WrittenSpan.CopyTo(span[n..]);
        output.Advance(n + _message.WrittenCount);
    }

    /// <summary>An admin's action in the console, framed: severity notice (5), MSGID <c>admin</c>, the event's JSON line as message.</summary>
    public void Write(AdminEvent e, IBufferWriter<byte> output)
    {
        _message.ResetWrittenCount();
        var sb = new StringBuilder(256);
        sb.Append('<').Append(facility * 8 + 5).Append(">1 ")
            .Append(e.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
            .Append(_header)
            .Append("admin [").Append(SdId);
        Param(sb, "event", e.Event);
        Param(sb, "admin", e.Admin);
        Param(sb, "client", e.Client);
        Param(sb, "outcome", e.Outcome);
        sb.Append("] ");
        Encoding.UTF8.GetBytes(sb.ToString(), _message);
        _message.Write(Bom);
        e.Write(_message);
        int digits = _message.WrittenCount.ToString(CultureInfo.InvariantCulture).Length;
        var span = output.GetSpan(digits + 1 + _message.WrittenCount);
        Utf8Formatter.TryFormat(_message.WrittenCount, span, out int n);
        span[n++] = (byte)' ';
        _message.WrittenSpan.CopyTo(span[n..]);
        output.Advance(n + _message.WrittenCount);
    }

    /// <summary>The message without its framing.</summary>
    public string ToMessage(DecisionRecord r)
    {
        _message.ResetWrittenCount();
        Format(r, _message);
        return Encoding.UTF8.GetString(_message.WrittenSpan);
    }

    private void Format(DecisionRecord r, ArrayBufferWriter<byte> o)
    {
        bool blocked = r.Action == DecisionAction.Block;
        int severity = blocked ? (r.Decision?.Alert == true ? 4 : 5) : 6;
        var sb = new StringBuilder(512);
        sb.Append('<').Append(facility * 8 + severity).Append(">1 ")
            .Append(r.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
            .Append(_header)
            .Append(blocked ? "block" : "allow")
            .Append(" [").Append(SdId);
        Param(sb, "action", blocked ? "block" : "allow");
        Param(sb, "rule", r.Rule);
        Param(sb, "category", r.Category);
        Param(sb, "list", r.Decision?.List);
        Param(sb, "host", HostOf(r));
        Param(sb, "policy", r.PolicyVersion);
        Param(sb, "client", r.Client.ToString());
        foreach (var role in r.Roles)
        {
            Param(sb, "role", role);
        }
        Param(sb, "network", r.Network);
        Param(sb, "user", r.User);
        Param(sb, "status", r.Status.ToString(CultureInfo.InvariantCulture));
        Param(sb, "ref", r.Reference);
        sb.Append("] ");
        Encoding.UTF8.GetBytes(sb.ToString(), o);
        o.Write(Bom);
        AuditLog.JsonLineFormatter.Write(r, o);
    }

    /// <summary>The host of the absolute URL, or of <c>host:port</c> for CONNECT; null for a refusal with no target (<c>-</c>).</summary>
    internal static string? HostOf(DecisionRecord r)
    {
        var target = r.Target;
        if (target is "-" or "")
        {
            return null;
        }
        if (Uri.TryCreate(target, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            return uri.IdnHost;
        }
        // host:port, [v6]:port
        int colon = target.LastIndexOf(':');
        var host = colon > 0 && !target.EndsWith(']') ? target[..colon] : target;
        return host.Length > 0 && host.AsSpan().IndexOfAny(" /") < 0 ? host.Trim('[', ']') : null;
    }

    /// <summary>An SD-PARAM, absent when the value is: RFC 5424 6.3.3 escapes <c>"</c>, <c>\</c> and <c>]</c>.</summary>
    private static void Param(StringBuilder sb, string name, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }
        sb.Append(' ').Append(name).Append("=\"");
        foreach (var c in value)
        {
            if (c is '"' or '\\' or ']')
            {
                sb.Append('\\');
            }
            sb.Append(c);
        }
        sb.Append('"');
    }

    /// <summary>A header field: printable US-ASCII, at most <paramref name="max"/> characters, or <c>-</c> (NILVALUE).</summary>
    private static string Field(string value, int max)
    {
        var clean = new string(value.Where(c => c is > ' ' and <= '~').Take(max).ToArray());
        return clean.Length == 0 ? "-" : clean;
    }
}
