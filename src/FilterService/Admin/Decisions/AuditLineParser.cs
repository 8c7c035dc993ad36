using System.Text;
using System.Text.Json;

namespace FilterService.Admin.Decisions;

/// <summary>
/// Reads one audit line (the JSON object <c>AuditLog.JsonLineFormatter</c> writes, docs/service.md "The audit log")
/// into an <see cref="IndexedDecision"/>. Absent fields stay null; unknown fields are skipped, so records written by
/// older and newer versions are read alike. A line that is not JSON (a line torn by a crash and ended by the writer's
/// next start) is <see cref="AuditLine.Unreadable"/>; a whole object that is not a decision (the console's own events,
/// <c>"event":"console-sign-in"</c>) is <see cref="AuditLine.Other"/>. Never throws.
/// </summary>
internal static class AuditLineParser
{
    public static AuditLine Parse(ReadOnlySpan<byte> line, IndexedDecision into)
    {
        into.Clear();
        bool time = false, client = false, url = false, action = false;
        try
        {
            var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return AuditLine.Unreadable;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueSpan;
                reader.Read();
                if (name.SequenceEqual("time"u8))
                {
                    time = reader.TryGetDateTimeOffset(out var at);
                    into.TimeMs = at.ToUnixTimeMilliseconds();
                }
                else if (name.SequenceEqual("client"u8))
                {
                    into.Client = reader.GetString() ?? "";
                    client = true;
                }
                else if (name.SequenceEqual("user"u8))
                {
                    into.User = reader.GetString();
                }
                else if (name.SequenceEqual("name"u8))
                {
                    into.DisplayName = reader.GetString();
                }
                else if (name.SequenceEqual("roles"u8))
                {
                    into.Roles = ReadRoles(ref reader);
                }
                else if (name.SequenceEqual("network"u8))
                {
                    into.Network = reader.GetString();
                }
                else if (name.SequenceEqual("method"u8))
                {
                    into.Method = reader.GetString() ?? "";
                }
                else if (name.SequenceEqual("url"u8))
                {
                    into.Target = reader.GetString() ?? "";
                    url = true;
                }
                else if (name.SequenceEqual("action"u8))
                {
                    into.Blocked = reader.ValueTextEquals("block"u8);
                    action = true;
                }
                else if (name.SequenceEqual("rule"u8))
                {
                    into.Rule = reader.GetString() ?? "";
                }
                else if (name.SequenceEqual("category"u8))
                {
                    into.Category = reader.GetString();
                }
                else if (name.SequenceEqual("status"u8))
                {
                    into.Status = reader.TryGetInt32(out var status) ? status : 0;
                }
                else if (name.SequenceEqual("ref"u8))
                {
                    into.Reference = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return AuditLine.Unreadable;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return AuditLine.Unreadable;
        }
        if (!(time && client && url && action))
        {
            return AuditLine.Other;
        }
        into.Host = HostOf(into.Target, into.Method);
        into.Site = SiteOf(into.Host);
        return AuditLine.Decision;
    }

    private static readonly HashSet<string> SecondLevel = new(StringComparer.Ordinal)
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "sch.uk", "net.uk", "ltd.uk", "plc.uk", "me.uk", "nhs.uk", "police.uk",
        "com.au", "net.au", "org.au", "edu.au", "co.nz", "co.jp", "co.in", "com.br", "com.cn", "co.za", "com.tr", "com.mx",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> SecondLevelSpans = SecondLevel.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>
    /// The registrable domain of a host, near enough for a search: its last two labels, or three under a known
    /// second-level domain (<c>bbc.co.uk</c>, <c>school.sch.uk</c>); an IP address or a one-label name is itself.
    /// Dots at either end are not labels (<c>.co.uk</c> is <c>co.uk</c>, a suffix on its own is itself); a name with
    /// an empty label inside (<c>a..b</c>) is itself, trimmed. Never throws, whatever the string.
    /// </summary>
    public static string SiteOf(string host)
    {
        var name = host.AsSpan().Trim('.');
        if (name.Length == 0 || name[0] == '[' || name.Contains("..", StringComparison.Ordinal) || System.Net.IPAddress.TryParse(name, out _))
        {
            return Same(host, name);
        }
        int last = name.LastIndexOf('.');
        int second = last < 0 ? -1 : name[..last].LastIndexOf('.');
        if (second < 0)
        {
            return Same(host, name);
        }
        if (SecondLevelSpans.Contains(name[(second + 1)..]))
        {
            int third = name[..second].LastIndexOf('.');
            return third < 0 ? Same(host, name) : name[(third + 1)..].ToString();
        }
        return name[(second + 1)..].ToString();
    }

    private static string Same(string host, ReadOnlySpan<char> name) => name.Length == host.Length ? host : name.ToString();

    private static string? ReadRoles(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }
        var roles = new StringBuilder();
        while (reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            if (roles.Length > 0)
            {
                roles.Append(',');
            }
            roles.Append(reader.GetString());
        }
        return roles.Length == 0 ? null : roles.ToString();
    }

    /// <summary>
    /// The host of a target, lower case: <c>host:port</c> for CONNECT, the authority of an absolute URL otherwise
    /// (brackets kept for IPv6, port and user info dropped). Empty when there is none (a malformed request's target).
    /// </summary>
    public static string HostOf(string target, string method)
    {
        var span = target.AsSpan();
        if (!method.Equals("CONNECT", StringComparison.OrdinalIgnoreCase))
        {
            int scheme = span.IndexOf("://");
            if (scheme < 0)
            {
                return "";
            }
            span = span[(scheme + 3)..];
            int end = span.IndexOfAny('/', '?', '#');
            if (end >= 0)
            {
                span = span[..end];
            }
            int at = span.LastIndexOf('@');
            if (at >= 0)
            {
                span = span[(at + 1)..];
            }
        }
        if (span.StartsWith("["))
        {
            int close = span.IndexOf(']');
            span = close > 0 ? span[..(close + 1)] : span;
        }
        else
        {
            int colon = span.LastIndexOf(':');
            if (colon >= 0)
            {
                span = span[..colon];
            }
        }
        span = span.TrimEnd('.');
        return span.Length == 0 ? "" : span.ToString().ToLowerInvariant();
    }
}

/// <summary>What an audit line turned out to be.</summary>
internal enum AuditLine
{
    Decision,

    /// <summary>A whole JSON object that is not a decision (an event of the console's own): not indexed, not an error.</summary>
    Other,

    /// <summary>Not a JSON object (a line torn by a crash): skipped and counted.</summary>
    Unreadable,
}
