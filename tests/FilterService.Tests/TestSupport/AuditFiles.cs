using System.Text.Json;

namespace FilterService.Tests.TestSupport;

/// <summary>The audit files of a service started with <c>--Audit:Path=DIR</c>, read while it writes them.</summary>
public static class AuditFiles
{
    /// <summary>Every record written so far, in file order.</summary>
    public static List<JsonElement> Read(string auditDir)
    {
        var records = new List<JsonElement>();
        foreach (var file in Directory.GetFiles(auditDir, "audit-*.json").Order())
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { Length: > 0 } line)
            {
                records.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }
        return records;
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
