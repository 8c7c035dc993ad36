using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using PolicyModel.Decisions;

namespace FilterService.Policy;

/// <summary>A statutory list refused (or accepted on confirmation) because it shrank against its last good count.</summary>
internal sealed record StatutoryShrink(string Category, string List, int LastGood, int Entries, ListConfirmation? Confirmation);

/// <summary>
/// An operator's confirmation that a statutory list may shrink: it names the SHA-256 of the exact bytes of the new
/// list, so it confirms that download and no other (a later truncated download has other bytes). Written by
/// <c>FilterService lists confirm</c>; kept in <see cref="ListConfirmations.FileName"/> in the policy directory.
/// </summary>
internal sealed record ListConfirmation(string List, string Sha256, int Entries, string Reason, string User, DateTimeOffset At);

/// <summary>Reads and appends <c>statutory-confirmations.json</c> in the policy directory.</summary>
internal static class ListConfirmations
{
    public const string FileName = "statutory-confirmations.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Every confirmation in <paramref name="policyDirectory"/>; empty when there is no file.</summary>
    /// <exception cref="IOException">The file exists but cannot be read or parsed.</exception>
    public static IReadOnlyList<ListConfirmation> Read(string policyDirectory)
    {
        var path = Path.Combine(policyDirectory, FileName);
        if (!File.Exists(path))
        {
            return [];
        }
        try
        {
            return JsonSerializer.Deserialize<List<ListConfirmation>>(File.ReadAllBytes(path), Json) ?? [];
        }
        catch (JsonException ex)
        {
            throw new IOException($"{FileName}: {ex.Message}", ex);
        }
    }

    /// <summary>Appends one confirmation (the file is rewritten whole, through a temporary file and a rename).</summary>
    public static void Append(string policyDirectory, ListConfirmation confirmation)
    {
        var all = Read(policyDirectory).Append(confirmation).ToList();
        StateFile.WriteAtomically(Path.Combine(policyDirectory, FileName), JsonSerializer.SerializeToUtf8Bytes(all, Json));
    }

    /// <summary>
    /// Lower-case hex SHA-256 of a list's bytes; for a directory (UT1) of every file under it, each preceded by its
    /// relative path, in ordinal order.
    /// </summary>
    public static string Digest(string fullPath)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (Directory.Exists(fullPath))
        {
            foreach (var file in Directory.GetFiles(fullPath, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(fullPath, file) + "\n"));
                sha.AppendData(File.ReadAllBytes(file));
            }
        }
        else
        {
            using var stream = File.OpenRead(fullPath);
            var buffer = new byte[81920];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                sha.AppendData(buffer, 0, read);
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

/// <summary>
/// The last good entry count of every statutory list, kept across restarts in <c>statutory-lists.json</c> beside
/// the audit log, so that a list that shrank while the service was down is caught at start as it would be at a
/// reload. Keyed by the list file's full path (a policy directory moved elsewhere starts a new record). Not thread-safe: <see cref="PolicyStore"/> calls it under its lock.
/// </summary>
internal sealed class StatutoryCounts
{
    public const string FileName = "statutory-lists.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private readonly string? _path;
    private readonly Dictionary<string, Entry> _lists;

    private StatutoryCounts(string? path, Dictionary<string, Entry> lists)
    {
        _path = path;
        _lists = lists;
    }

    internal sealed record Entry(string Category, int Entries, DateTimeOffset At);

    private sealed record Document([property: JsonPropertyName("lists")] Dictionary<string, Entry> Lists);

    /// <summary>Counts kept in memory only (no state directory).</summary>
    public static StatutoryCounts InMemory() => new(null, new(StringComparer.Ordinal));

    /// <summary>Reads the state file in <paramref name="stateDirectory"/>; none yet is an empty record.</summary>
    /// <exception cref="IOException">The file exists but cannot be read or parsed (start-up must not guess).</exception>
    public static StatutoryCounts Open(string stateDirectory)
    {
        var path = Path.Combine(stateDirectory, FileName);
        if (!File.Exists(path))
        {
            return new(path, new(StringComparer.Ordinal));
        }
        try
        {
            var document = JsonSerializer.Deserialize<Document>(File.ReadAllBytes(path), Json);
            return new(path, new(document?.Lists ?? [], StringComparer.Ordinal));
        }
        catch (JsonException ex)
        {
            throw new IOException($"{path}: {ex.Message}", ex);
        }
    }

    public string? FilePath => _path;

    public int? LastGood(string fullPath) => _lists.TryGetValue(fullPath, out var e) ? e.Entries : null;

    private static string Key(PolicySnapshot policy, ListSummary list) => System.IO.Path.GetFullPath(System.IO.Path.Combine(policy.Directory, list.Path));

    /// <summary>Records the statutory lists of a policy just published, and saves. Lists no longer loaded are kept.</summary>
    /// <exception cref="IOException">Saving failed (the counts in memory are updated all the same).</exception>
    public void Record(PolicySnapshot policy, DateTimeOffset at)
    {
        var statutory = policy.Categories.Where(c => c.Statutory).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var list in policy.Lists.Where(l => statutory.Contains(l.Category)))
        {
            _lists[Key(policy, list)] = new Entry(list.Category, list.Entries, at);
        }
        if (_path is not null)
        {
            StateFile.WriteAtomically(_path, JsonSerializer.SerializeToUtf8Bytes(new Document(new(_lists, StringComparer.Ordinal)), Json));
        }
    }

    /// <summary>
    /// Statutory lists of <paramref name="policy"/> whose entry count fell below <paramref name="fraction"/> of their
    /// last good count, or below <paramref name="floor"/>. Each carries the confirmation that accepts it, if one
    /// names the exact bytes of that list now on disk.
    /// </summary>
    public IReadOnlyList<StatutoryShrink> Shrinks(PolicySnapshot policy, double fraction, int floor, Func<IReadOnlyList<ListConfirmation>> confirmations)
    {
        var statutory = policy.Categories.Where(c => c.Statutory).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var found = new List<StatutoryShrink>();
        IReadOnlyList<ListConfirmation>? confirmed = null;
        foreach (var list in policy.Lists.Where(l => statutory.Contains(l.Category)))
        {
            var lastGood = LastGood(Key(policy, list));
            bool shrank = lastGood is int before && list.Entries < before * fraction;
            if (!shrank && !(floor > 0 && list.Entries < floor))
            {
                continue;
            }
            confirmed ??= confirmations();
            ListConfirmation? confirmation = null;
            var candidates = confirmed.Where(c => c.List == list.Path).ToList();
            if (candidates.Count > 0)
            {
                var full = Key(policy, list);
                var digest = ListConfirmations.Digest(full);
                // The digest must be of the bytes that were loaded: a file rewritten since is not confirmed by it (the
                // write itself brings another reload).
                var now = System.IO.Directory.Exists(full) ? System.IO.Directory.GetLastWriteTimeUtc(full) : File.GetLastWriteTimeUtc(full);
                bool unchanged = list.LastModified is not { } loaded || now == loaded.UtcDateTime;
                confirmation = unchanged ? candidates.LastOrDefault(c => string.Equals(c.Sha256, digest, StringComparison.OrdinalIgnoreCase)) : null;
            }
            found.Add(new StatutoryShrink(list.Category, list.Path, lastGood ?? 0, list.Entries, confirmation));
        }
        return found;
    }
}

internal static class StateFile
{
    /// <summary>Writes through a temporary file, flushed, then renamed over the target: never a half-written file.</summary>
    public static void WriteAtomically(string path, byte[] bytes)
    {
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
