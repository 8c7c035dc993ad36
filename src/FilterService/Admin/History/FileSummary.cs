using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FilterService.Admin.History;

/// <summary>
/// What the history keeps of a file it must not (or need not) keep whole (<see cref="FileTracking.Summary"/>): its
/// SHA-256, its size and a count, entries for a list, lines for a users file or timetable. Stored as the entry's
/// <c>Before</c>/<c>After</c> text in a fixed form, one <c>key value</c> per line:
/// <code>
/// sha256 3f5a...(64 hex)
/// bytes 35210112
/// entries 1402113
/// </code>
/// Value semantics; immutable.
/// </summary>
internal sealed record FileSummary(string Sha256, long Bytes, string CountName, long Count)
{
    public const string Entries = "entries";
    public const string Lines = "lines";

    /// <summary>The summary of <paramref name="bytes"/>, counting <paramref name="countName"/> (its count given, or lines counted).</summary>
    public static FileSummary Of(ReadOnlySpan<byte> bytes, string countName, long? count = null) =>
        new(Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length, countName, count ?? CountLines(bytes));

    /// <summary>The summary of a file read in chunks (a list may be hundreds of megabytes), lines counted.</summary>
    public static FileSummary OfFile(string fullPath, string countName, long? count = null)
    {
        using var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long bytes = 0, lines = 0;
        var last = (byte)'\n';
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
            last = buffer[read - 1];
            bytes += read;
        }
        if (last != (byte)'\n')
        {
            lines++; // a last line without its newline is still a line
        }
        return new FileSummary(Convert.ToHexStringLower(hash.GetHashAndReset()), bytes, countName, count ?? lines);
    }

    private static long CountLines(ReadOnlySpan<byte> bytes) =>
        bytes.Count((byte)'\n') + (bytes.Length > 0 && bytes[^1] != (byte)'\n' ? 1 : 0);

    public string Format() => string.Create(CultureInfo.InvariantCulture, $"sha256 {Sha256}\nbytes {Bytes}\n{CountName} {Count}\n");

    public override string ToString() => Format();

    /// <summary>The summary in <paramref name="text"/>, or null when it is not one (never throws: the text came from the database).</summary>
    public static FileSummary? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != 3)
        {
            return null;
        }
        var parts = lines.Select(l => l.Split(' ', 2)).ToArray();
        if (parts.Any(p => p.Length != 2) || parts[0][0] != "sha256" || parts[1][0] != "bytes"
            || !long.TryParse(parts[1][1], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
            || !long.TryParse(parts[2][1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return null;
        }
        return new FileSummary(parts[0][1], bytes, parts[2][0], count);
    }

    /// <summary>
    /// One line saying what changed, for the diff of a summarised file:
    /// <c>list lists/big.txt changed: 1,402,113 -> 1,402,500 entries; 35,210,112 -> 35,220,000 bytes; sha256 3f5a1b2c -> 9e8d7c6b</c>.
    /// </summary>
    public static string Describe(string path, string? before, string? after)
    {
        var (b, a) = (Parse(before), Parse(after));
        var sb = new StringBuilder();
        var what = (a ?? b)?.CountName == Entries ? "list " : "";
        if (b is null && a is null)
        {
            return $"{what}{path}: (no summary)\n";
        }
        if (b is null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{what}{path} added: {a!.Count:N0} {a.CountName}; {a.Bytes:N0} bytes; sha256 {a.Sha256[..Math.Min(16, a.Sha256.Length)]}");
        }
        else if (a is null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{what}{path} removed: was {b.Count:N0} {b.CountName}; {b.Bytes:N0} bytes; sha256 {b.Sha256[..Math.Min(16, b.Sha256.Length)]}");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"{what}{path} changed: {b.Count:N0} -> {a.Count:N0} {a.CountName}; {b.Bytes:N0} -> {a.Bytes:N0} bytes; "
                + $"sha256 {b.Sha256[..Math.Min(16, b.Sha256.Length)]} -> {a.Sha256[..Math.Min(16, a.Sha256.Length)]}");
        }
        return sb.Append('\n').ToString();
    }
}
