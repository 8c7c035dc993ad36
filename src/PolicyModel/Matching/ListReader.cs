using System.Net;
using System.Text;

namespace PolicyModel.Matching;

/// <summary>Reads list files in every supported format into normalised entries.</summary>
public static class ListReader
{
    /// <summary>Warnings kept per list; the rest are only counted in <see cref="ParsedList.SkippedLines"/>.</summary>
    public const int MaxWarnings = 100;

    /// <summary>Significant lines looked at when sniffing the format.</summary>
    private const int SniffLines = 50;

    private const int BufferSize = 1 << 16;

    /// <summary>
    /// Reads <paramref name="path"/> (a file, or a UT1 folder). <paramref name="exact"/> marks every
    /// domain entry as exact-host instead of subtree. Malformed lines are skipped and reported as warnings;
    /// a missing file throws <see cref="FileNotFoundException"/> (the policy loader checks existence first).
    /// <paramref name="displayPath"/> is what warnings name as the file.
    /// </summary>
    /// <remarks>
    /// Each file is read through a bounded stream: past <paramref name="maxBytesPerFile"/> bytes (a file that grows
    /// while it is read, or a device that never ends) the read stops with a <see cref="ListTooLargeException"/>. The
    /// policy loader also refuses non-regular and oversized files before it calls this. <paramref name="open"/>, if given,
    /// opens each file instead of a plain FileStream (the loader's, which hashes what is read into the policy's version).
    /// </remarks>
    public static ParsedList Read(string path, string displayPath, ListFormat format = ListFormat.Auto, bool exact = false, long maxBytesPerFile = long.MaxValue, Func<string, Stream>? open = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(displayPath);

        bool isDirectory = Directory.Exists(path);
        if (!isDirectory && !File.Exists(path))
            throw new FileNotFoundException($"List '{displayPath}' not found.", path);
        if (format == ListFormat.Auto)
            format = isDirectory ? ListFormat.Ut1 : Sniff(path, maxBytesPerFile, open);
        if (isDirectory != (format == ListFormat.Ut1))
        {
            throw new FileNotFoundException(isDirectory
                ? $"List '{displayPath}' is a folder, but format {format} needs a file."
                : $"List '{displayPath}' is a file, but format Ut1 needs a folder holding 'domains' and/or 'urls'.", path);
        }

        var sink = new Sink(exact);
        if (format == ListFormat.Ut1)
        {
            string domains = Path.Combine(path, "domains");
            string urls = Path.Combine(path, "urls");
            if (!File.Exists(domains) && !File.Exists(urls))
                throw new FileNotFoundException($"UT1 folder '{displayPath}' holds neither 'domains' nor 'urls'.", domains);
            if (File.Exists(domains))
                ReadLines(domains, displayPath + "/domains", ListFormat.Domains, sink, maxBytesPerFile, open);
            if (File.Exists(urls))
                ReadLines(urls, displayPath + "/urls", ListFormat.Ut1, sink, maxBytesPerFile, open);
        }
        else
        {
            ReadLines(path, displayPath, format, sink, maxBytesPerFile, open);
        }

        return new ParsedList
        {
            Path = displayPath,
            Format = format,
            Entries = sink.Entries,
            Warnings = sink.Warnings,
            SkippedLines = sink.Skipped,
        };
    }

    /// <summary>
    /// Decides the format of a file from its first significant lines: adblock markers (<c>!</c>, <c>[Adblock</c>,
    /// <c>||</c>, <c>|</c>), a <c># format: sha256</c> header, dnsmasq directives, <c>IP name</c> pairs, 64-hex
    /// digests, else plain domains.
    /// </summary>
    internal static ListFormat Sniff(string path, long maxBytes = long.MaxValue, Func<string, Stream>? open = null)
    {
        using var reader = new StreamReader(Open(path, maxBytes, open), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        int seen = 0;
        while (seen < SniffLines && reader.ReadLine() is { } raw)
        {
            ReadOnlySpan<char> line = raw.AsSpan().Trim();
            if (line.IsEmpty)
                continue;
            seen++;
            if (line[0] == '!' || line.StartsWith("[Adblock", StringComparison.OrdinalIgnoreCase) || line[0] == '|')
                return ListFormat.Adblock;
            if (line[0] == '#')
            {
                var comment = line.TrimStart('#').Trim();
                if (comment.StartsWith("format:", StringComparison.OrdinalIgnoreCase)
                    && comment["format:".Length..].Trim().Equals("sha256", StringComparison.OrdinalIgnoreCase))
                {
                    return ListFormat.Hashed;
                }
                continue;
            }
            if (IsDnsmasqDirective(line))
                return ListFormat.Dnsmasq;
            if (EntryText.IsDigestHex(line))
                return ListFormat.Hashed;
            int space = line.IndexOfAny(' ', '\t');
            if (space > 0 && IPAddress.TryParse(line[..space], out _))
                return ListFormat.Hosts;
            return ListFormat.Domains;
        }
        return ListFormat.Domains;
    }

    /// <summary>Where parsed entries and skipped lines go; shared by the files of a UT1 folder.</summary>
    private sealed class Sink(bool exact)
    {
        public readonly List<ListEntry> Entries = new();
        public readonly List<ListWarning> Warnings = new();
        public int Skipped;
        public readonly EntryKind DomainKind = exact ? EntryKind.Exact : EntryKind.Subtree;

        public void Warn(string file, int line, string message)
        {
            Skipped++;
            if (Warnings.Count < MaxWarnings)
                Warnings.Add(new ListWarning(file, line, message));
        }
    }

    private static Stream Open(string path, long maxBytes, Func<string, Stream>? open)
    {
        var file = open?.Invoke(path) ?? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
        return maxBytes == long.MaxValue ? file : new BoundedStream(file, maxBytes);
    }

    private static void ReadLines(string path, string file, ListFormat format, Sink sink, long maxBytes, Func<string, Stream>? open)
    {
        using var stream = Open(path, maxBytes, open);
        ReadLines(stream, file, format, sink);
    }

    /// <summary>
    /// Reads one list (not a UT1 folder) from a stream as it arrives, so a confidential list can be parsed (and hashed)
    /// without its plain text ever resting on disk (issue 21). <paramref name="format"/> must be named: a stream is
    /// not sniffed. The caller bounds the stream.
    /// </summary>
    public static ParsedList Read(Stream stream, string displayPath, ListFormat format, bool exact = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (format is ListFormat.Auto or ListFormat.Ut1)
            throw new ArgumentOutOfRangeException(nameof(format), format, "a stream is read in a named single-file format");
        var sink = new Sink(exact);
        ReadLines(stream, displayPath, format, sink);
        return new ParsedList { Path = displayPath, Format = format, Entries = sink.Entries, Warnings = sink.Warnings, SkippedLines = sink.Skipped };
    }

    private static void ReadLines(Stream stream, string file, ListFormat format, Sink sink)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, BufferSize);
        int number = 0;
        while (reader.ReadLine() is { } raw)
        {
            number++;
            ReadOnlySpan<char> line = raw.AsSpan().Trim();
            if (line.IsEmpty)
                continue;
            string? problem = format switch
            {
                ListFormat.Domains => DomainLine(raw, line, number, sink),
                ListFormat.Hosts => HostsLine(line, number, sink),
                ListFormat.Adblock => AdblockLine(line, number, sink),
                ListFormat.Dnsmasq => DnsmasqLine(line, number, sink),
                ListFormat.Hashed => HashedLine(line, number, sink),
                ListFormat.Ut1 => UrlLine(line, number, sink),
                _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
            };
            if (problem is not null)
                sink.Warn(file, number, problem);
        }
    }

    /// <summary>A plain domain (UT1 <c>domains</c> too): <c>#</c> comments, optional leading <c>*.</c> or <c>.</c>.</summary>
    private static string? DomainLine(string raw, ReadOnlySpan<char> line, int number, Sink sink)
    {
        if (line[0] == '#')
            return null;
        int hash = line.IndexOf('#');
        if (hash >= 0)
            line = line[..hash].TrimEnd();
        return AddHost(line, line.Length == raw.Length ? raw : null, number, sink, sink.DomainKind, acceptSingleLabel: true);
    }

    /// <summary>
    /// Names that hosts files carry for the machine itself, not sites: the localhost preamble of
    /// StevenBlack-style files.
    /// </summary>
    private static bool IsPreambleName(ReadOnlySpan<char> name) =>
        name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || name.Equals("localhost.localdomain", StringComparison.OrdinalIgnoreCase)
        || name.Equals("local", StringComparison.OrdinalIgnoreCase)
        || name.Equals("broadcasthost", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("ip6-", StringComparison.OrdinalIgnoreCase);

    /// <summary><c>IP name [name...] [# comment]</c>. Single-label names are not sites and are skipped.</summary>
    private static string? HostsLine(ReadOnlySpan<char> line, int number, Sink sink)
    {
        if (line[0] == '#')
            return null;
        int hash = line.IndexOf('#');
        if (hash >= 0)
            line = line[..hash].TrimEnd();
        if (line.IsEmpty)
            return null;

        int space = line.IndexOfAny(' ', '\t');
        if (space < 0)
            return $"expected 'address name', found '{line}'";
        if (!IPAddress.TryParse(line[..space], out _))
            return $"'{line[..space]}' is not an IP address";

        string? problem = null;
        foreach (var range in line[space..].SplitAny(' ', '\t'))
        {
            var name = line[space..][range];
            if (name.IsEmpty || IsPreambleName(name))
                continue;
            if (IPAddress.TryParse(name, out var ip) && IsSinkAddress(ip))
                continue;
            problem ??= AddHost(name, null, number, sink, sink.DomainKind, acceptSingleLabel: false);
        }
        return problem;
    }

    /// <summary>Addresses that hosts files point names at, appearing as names in the preamble (<c>0.0.0.0 0.0.0.0</c>).</summary>
    private static bool IsSinkAddress(IPAddress ip) =>
        ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) || IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Broadcast);

    /// <summary>
    /// Adblock basic rules: <c>||domain^</c> (subtree), <c>|host^</c> (exact host), <c>||domain</c>;
    /// <c>!</c> comments and the <c>[Adblock Plus]</c> header. Everything else is named and skipped.
    /// </summary>
    private static string? AdblockLine(ReadOnlySpan<char> line, int number, Sink sink)
    {
        if (line[0] == '!' || line[0] == '[' || (line[0] == '#' && (line.Length == 1 || line[1] == ' ')))
            return null;
        if (line.StartsWith("@@"))
            return $"unsupported adblock exception rule '{line}'";
        if (line.Length > 1 && line[0] == '/' && line[^1] == '/')
            return $"unsupported adblock regex rule '{line}'";
        if (line.Contains("##", StringComparison.Ordinal) || line.Contains("#@#", StringComparison.Ordinal)
            || line.Contains("#?#", StringComparison.Ordinal) || line.Contains("#$#", StringComparison.Ordinal))
        {
            return $"unsupported adblock cosmetic rule '{line}'";
        }
        int dollar = line.IndexOf('$');
        if (dollar >= 0)
        {
            var modifier = line[(dollar + 1)..];
            int end = modifier.IndexOfAny('=', ',');
            return $"unsupported adblock modifier '${(end < 0 ? modifier : modifier[..end])}'";
        }

        EntryKind kind;
        if (line.StartsWith("||"))
        {
            kind = sink.DomainKind;
            line = line[2..];
        }
        else if (line[0] == '|')
        {
            kind = EntryKind.Exact;
            line = line[1..];
        }
        else
        {
            return $"unsupported adblock rule without '||' or '|' anchor '{line}'";
        }

        if (line.EndsWith("^|"))
            line = line[..^2];
        else if (line.EndsWith('^'))
            line = line[..^1];
        line = line.TrimEnd();
        if (line.Contains('*'))
            return $"unsupported adblock wildcard rule '{line}'";
        if (line.ContainsAny('/', '^', '|'))
            return $"unsupported adblock rule '{line}': only whole host names are supported";
        return AddHost(line, null, number, sink, kind, acceptSingleLabel: true);
    }

    private static bool IsDnsmasqDirective(ReadOnlySpan<char> line) =>
        line.StartsWith("server=/") || line.StartsWith("address=/") || line.StartsWith("local=/");

    /// <summary><c>server=/a.com/b.com/</c>, <c>address=/a.com/0.0.0.0</c>, <c>local=/a.com/</c>: each domain is a subtree.</summary>
    private static string? DnsmasqLine(ReadOnlySpan<char> line, int number, Sink sink)
    {
        if (line[0] == '#')
            return null;
        if (!IsDnsmasqDirective(line))
            return $"unsupported dnsmasq line '{line}'";
        var domains = line[(line.IndexOf('/') + 1)..];
        int close = domains.LastIndexOf('/');
        if (close < 0)
            return $"unterminated dnsmasq domain list '{line}'";
        domains = domains[..close];
        string? problem = null;
        foreach (var range in domains.Split('/'))
        {
            var name = domains[range];
            if (name.StartsWith("*."))
                name = name[2..];
            problem ??= name.IsEmpty ? null : AddHost(name, null, number, sink, sink.DomainKind, acceptSingleLabel: true);
        }
        return problem;
    }

    private static string? HashedLine(ReadOnlySpan<char> line, int number, Sink sink)
    {
        if (line[0] == '#')
            return null;
        if (!EntryText.IsDigestHex(line))
            return $"'{Shorten(line)}' is not a SHA-256 digest (64 hex digits)";
        sink.Entries.Add(new ListEntry(EntryKind.Hash, line.ToString().ToLowerInvariant(), number));
        return null;
    }

    /// <summary>UT1 <c>urls</c>: <c>host/path</c> without a scheme.</summary>
    private static string? UrlLine(ReadOnlySpan<char> line, int number, Sink sink)
    {
        if (line[0] == '#')
            return null;
        string? value = EntryText.NormalizeUrlPrefix(line);
        if (value is null)
            return $"'{Shorten(line)}' is not a valid host/path";
        sink.Entries.Add(new ListEntry(EntryKind.UrlPrefix, value, number));
        return null;
    }

    /// <summary>
    /// Adds one host; IP literals always become exact entries. <paramref name="whole"/> is the line's own string
    /// when <paramref name="text"/> spans all of it, so that an already normalised line is stored without a copy.
    /// </summary>
    private static string? AddHost(ReadOnlySpan<char> text, string? whole, int number, Sink sink, EntryKind kind, bool acceptSingleLabel)
    {
        if (text.StartsWith("*."))
        {
            text = text[2..];
            whole = null;
        }
        else if (text.Length > 1 && text[0] == '.')
        {
            text = text[1..];
            whole = null;
        }

        string? host = HostName.Normalize(text, whole);
        if (host is null)
            return $"'{Shorten(text)}' is not a valid host name";
        if (HostName.IsIPLiteral(host))
            kind = EntryKind.Exact;
        else if (!acceptSingleLabel && !host.Contains('.'))
            return $"'{host}' is a single-label name, not a site";
        sink.Entries.Add(new ListEntry(kind, host, number));
        return null;
    }

    private static string Shorten(ReadOnlySpan<char> text) => text.Length <= 80 ? text.ToString() : string.Concat(text[..77], "...");
}

/// <summary>A list file went past the byte limit it was read with.</summary>
public sealed class ListTooLargeException(long limit) : IOException($"larger than the limit of {limit:N0} bytes")
{
    public long Limit { get; } = limit;
}
