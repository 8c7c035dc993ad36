using System.Globalization;
using System.IO.Compression;
using System.Text.Json;

namespace FilterService.Admin.Reports;

/// <summary>The fields of one audit line (Audit/AuditLog.cs, JsonLineFormatter) that reports count. No user name: reports are aggregates.</summary>
internal sealed record AuditEntry(
    DateTimeOffset At,
    IReadOnlyList<string> Roles,
    string? Network,
    string Url,
    bool Blocked,
    string Rule,
    string? Category,
    bool Alert,
    string? Severity)
{
    /// <summary>The host of <see cref="Url"/>: an absolute URL's host, or the host of <c>host:port</c> (CONNECT).</summary>
    public string Host => HostOf(Url);

    public static string HostOf(string url)
    {
        if (url.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return uri.IdnHost;
        }
        if (url.StartsWith('['))
        {
            int close = url.IndexOf(']');
            return close > 0 ? url[1..close] : url;
        }
        int colon = url.LastIndexOf(':');
        return colon > 0 && url.IndexOf(':') == colon ? url[..colon] : url;
    }
}

/// <summary>
/// Reads the audit files (<c>audit-YYYYMMDD.json</c> and their rolled <c>.gz</c>; the files are the record) for a time
/// range. Files are named by the service's local day, so the days either side of the range are read too and each record
/// is kept only if its own time is inside <c>[from, until)</c>. A line that is not a whole JSON record (a torn last line
/// after a crash) is counted in <see cref="Result.Unreadable"/>, never silently dropped;
/// the console's own events in the same files are not decisions and are passed over.
/// </summary>
internal static class AuditRecords
{
    public sealed record Result(IReadOnlyList<AuditEntry> Entries, int Unreadable, IReadOnlyList<string> Files);

    public static Result Read(string auditDirectory, DateTimeOffset from, DateTimeOffset until)
    {
        var entries = new List<AuditEntry>();
        var files = new List<string>();
        int unreadable = 0;
        if (!Directory.Exists(auditDirectory))
        {
            return new Result(entries, 0, files);
        }
        var first = DateOnly.FromDateTime(from.UtcDateTime).AddDays(-2);
        var last = DateOnly.FromDateTime(until.UtcDateTime).AddDays(2);
        foreach (var file in Directory.GetFiles(auditDirectory, "audit-*").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            if (name.Length < 14 || !DateOnly.TryParseExact(name.AsSpan(6, 8), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                || day < first || day > last || !(name.EndsWith(".json", StringComparison.Ordinal) || name.EndsWith(".json.gz", StringComparison.Ordinal)))
            {
                continue;
            }
            files.Add(file);
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(name.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(stream, CompressionMode.Decompress) : stream);
                while (reader.ReadLine() is { } line)
                {
                    if (line.Length == 0)
                    {
                        continue;
                    }
                    if (Parse(line) is not { } entry)
                    {
                        if (!IsAdminEvent(line))
                        {
                            unreadable++;
                        }
                    }
                    else if (entry.At >= from && entry.At < until)
                    {
                        entries.Add(entry);
                    }
                }
            }
            catch (FileNotFoundException)
            {
                // Rolled to .gz (or removed by retention) between the listing and the open; the .gz is in the listing only if it existed then.
            }
            catch (InvalidDataException)
            {
                unreadable++; // a .gz cut short
            }
        }
        entries.Sort((a, b) => a.At.CompareTo(b.At));
        return new Result(entries, unreadable, files);
    }

    /// <summary>One JSON line, or null when it is not a whole audit record.</summary>
    public static AuditEntry? Parse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object || !r.TryGetProperty("time", out var time) || !r.TryGetProperty("url", out var url)
                || !r.TryGetProperty("action", out var action) || !r.TryGetProperty("rule", out var rule)
                || !DateTimeOffset.TryParse(time.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                return null;
            }
            var roles = r.TryGetProperty("roles", out var rs) && rs.ValueKind == JsonValueKind.Array
                ? rs.EnumerateArray().Select(x => x.GetString() ?? "").ToArray()
                : [];
            return new AuditEntry(at, roles, Text(r, "network"), url.GetString() ?? "", action.GetString() == "block", rule.GetString() ?? "",
                Text(r, "category"), r.TryGetProperty("alert", out var alert) && alert.ValueKind == JsonValueKind.True, Text(r, "severity"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A console event (sign-in, account change: <c>"event"</c>, no URL) shares the file; it is not a decision.</summary>
    private static bool IsAdminEvent(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("event", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? Text(JsonElement r, string name) => r.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
