using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FilterService.Admin.History;

/// <summary>
/// The hash chain of the change history (History/README.md, "The hash chain"). Each entry's hash is the SHA-256
/// (lower-case hex) of a canonical encoding of every field it has, the previous entry's hash included, so that
/// changing, removing or reordering any entry breaks every hash after it. The encoding, version 1, is the UTF-8 of:
/// <code>
/// filterservice-history-v1\n
/// then for each field, in this order: NAME ":" LENGTH ":" VALUE "\n"   (LENGTH = the UTF-8 bytes of VALUE, in decimal)
///                                 or NAME ":-\n"                     (a null value)
///   id, at, who, reason, source, reverts, policy_version, previous_hash, files (the count)
///   and for each file, in recorded order: path, tracking, before, after, diff
/// </code>
/// <c>at</c> is UTC as <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>; <c>source</c> and <c>tracking</c> are the stored names
/// (<see cref="SourceName"/>, <see cref="TrackingName"/>). Length prefixes make the encoding unambiguous whatever the
/// text holds. The first entry's previous hash is <see cref="Genesis"/>.
/// </summary>
internal static class EntryHash
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    private const string Magic = "filterservice-history-v1\n";

    /// <summary>How <c>at</c> is stored and hashed: UTC, fixed width, so text order is time order.</summary>
    public static string FormatTime(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.ParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static string SourceName(ChangeSource source) => source switch
    {
        ChangeSource.Console => "console",
        ChangeSource.FileEdit => "file-edit",
        ChangeSource.Revert => "revert",
        ChangeSource.Baseline => "baseline",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, null),
    };

    public static ChangeSource? ParseSource(string name) => name switch
    {
        "console" => ChangeSource.Console,
        "file-edit" => ChangeSource.FileEdit,
        "revert" => ChangeSource.Revert,
        "baseline" => ChangeSource.Baseline,
        _ => null,
    };

    public static string TrackingName(FileTracking tracking) => tracking == FileTracking.Summary ? "summary" : "content";

    public static FileTracking? ParseTracking(string name) => name switch
    {
        "content" => FileTracking.Content,
        "summary" => FileTracking.Summary,
        _ => null,
    };

    /// <summary>The hash of an entry given as its stored fields (text exactly as stored), each file's diff included.</summary>
    public static string Compute(StoredEntry entry)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(Magic));
        Field(hash, "id", entry.Id.ToString(CultureInfo.InvariantCulture));
        Field(hash, "at", entry.At);
        Field(hash, "who", entry.Who);
        Field(hash, "reason", entry.Reason);
        Field(hash, "source", entry.Source);
        Field(hash, "reverts", entry.Reverts?.ToString(CultureInfo.InvariantCulture));
        Field(hash, "policy_version", entry.PolicyVersion);
        Field(hash, "previous_hash", entry.PreviousHash);
        Field(hash, "files", entry.Files.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var file in entry.Files)
        {
            Field(hash, "path", file.Path);
            Field(hash, "tracking", file.Tracking);
            Field(hash, "before", file.Before);
            Field(hash, "after", file.After);
            Field(hash, "diff", file.Diff);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Field(IncrementalHash hash, string name, string? value)
    {
        if (value is null)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name + ":-\n"));
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(value);
        hash.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{name}:{bytes.Length}:")));
        hash.AppendData(bytes);
        hash.AppendData("\n"u8);
    }
}

/// <summary>An entry exactly as its rows hold it (text, not parsed), for hashing and verifying.</summary>
internal sealed record StoredEntry(
    long Id, string At, string Who, string Reason, string Source, long? Reverts, string PolicyVersion, string PreviousHash, string Hash,
    IReadOnlyList<StoredFile> Files);

/// <summary>A file row exactly as stored.</summary>
internal sealed record StoredFile(string Path, string Tracking, string? Before, string? After, string? Diff);
