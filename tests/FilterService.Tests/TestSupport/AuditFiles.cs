using System.IO.Compression;
using System.Text.Json;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// The audit files of a service started with <c>--Audit:Path=DIR</c>, read while it writes them: the day files and
/// the rolled ones it has gzipped (<c>audit-YYYYMMDD.json.gz</c>, Audit:CompressRolled), oldest first.
/// </summary>
public static class AuditFiles
{
    /// <summary>Every record written so far, in file order.</summary>
    public static List<JsonElement> Read(string auditDir) =>
        ReadLines(auditDir).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();

    /// <summary>
    /// Every non-empty line of the files <c>{prefix}YYYYMMDD{extension}</c> and their <c>.gz</c>, by day; a day's
    /// <c>.gz</c> before its plain file (both exist only for a moment, or if the day was written again after it rolled).
    /// </summary>
    public static List<string> ReadLines(string auditDir, string prefix = "audit-", string extension = ".json")
    {
        var files = Directory.GetFiles(auditDir, prefix + "*")
            .Where(f => Path.GetFileName(f) is var name && name.Length >= prefix.Length + 8 && name.Substring(prefix.Length, 8).All(char.IsAsciiDigit)
                && (name.EndsWith(extension, StringComparison.Ordinal) || name.EndsWith(extension + ".gz", StringComparison.Ordinal)))
            .OrderBy(f => Path.GetFileName(f)[..(prefix.Length + 8)], StringComparer.Ordinal)
            .ThenBy(f => f.EndsWith(".gz", StringComparison.Ordinal) ? 0 : 1);
        var lines = new List<string>();
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(file.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(stream, CompressionMode.Decompress) : stream);
            while (reader.ReadLine() is { } line)
            {
                if (line.Length > 0)
                {
                    lines.Add(line);
                }
            }
        }
        return lines;
    }

    /// <summary>Waits (at most 10 s) for the last record matching <paramref name="match"/>.</summary>
    public static async Task<JsonElement> WaitForAsync(string auditDir, Func<JsonElement, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var records = Read(auditDir);
            if (records.LastOrDefault(match) is { ValueKind: JsonValueKind.Object } found)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"no audit record for {what}; records:\n" + string.Join("\n", records.Select(r => r.GetRawText())));
            }
            await Task.Delay(100);
        }
    }
}
