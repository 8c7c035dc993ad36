namespace PolicyModel.Matching;

/// <summary>The on-disk formats a list file can take. <see cref="Auto"/> sniffs the content.</summary>
public enum ListFormat
{
    Auto,
    /// <summary>One domain per line, <c>#</c> comments.</summary>
    Domains,
    /// <summary>hosts file: <c>0.0.0.0 example.com</c>; the localhost preamble is ignored.</summary>
    Hosts,
    /// <summary>Adblock basic rules: <c>||domain^</c> (subtree) and <c>|host^</c> (exact host).</summary>
    Adblock,
    /// <summary>A UT1/squidGuard category folder holding <c>domains</c> and <c>urls</c>.</summary>
    Ut1,
    /// <summary>One SHA-256 hex digest of a normalised host or URL per line (confidential lists such as CTIRU's).</summary>
    Hashed,
    /// <summary>dnsmasq configuration: <c>server=/domain/</c>, <c>address=/domain/0.0.0.0</c>, <c>local=/domain/</c> (subtree).</summary>
    Dnsmasq,
}

/// <summary>What one list entry matches.</summary>
public enum EntryKind : byte
{
    /// <summary>The domain and all its subdomains.</summary>
    Subtree,
    /// <summary>Exactly this host (also used for IP address entries).</summary>
    Exact,
    /// <summary><c>host/path</c>: URLs on that host (or its subdomains) whose path starts with the path.</summary>
    UrlPrefix,
    /// <summary>A SHA-256 digest (64 lower-case hex) of a normalised host, parent domain or <c>host/path</c> prefix.</summary>
    Hash,
}

/// <summary>One normalised list entry and the 1-based line it came from.</summary>
public readonly record struct ListEntry(EntryKind Kind, string Value, int Line);

/// <summary>A malformed line that was skipped.</summary>
public readonly record struct ListWarning(string File, int Line, string Message);

/// <summary>The result of reading one list file or folder.</summary>
public sealed class ParsedList
{
    public required string Path { get; init; }
    public required ListFormat Format { get; init; }
    public required IReadOnlyList<ListEntry> Entries { get; init; }
    /// <summary>Skipped lines, at most the first 100 of them; <see cref="SkippedLines"/> has the total.</summary>
    public required IReadOnlyList<ListWarning> Warnings { get; init; }
    public required int SkippedLines { get; init; }
}

/// <summary>The most specific entry that put a host or URL in a category, for explanations.</summary>
public sealed record MatchHit(int ListId, string ListName, EntryKind Kind, string Entry);
