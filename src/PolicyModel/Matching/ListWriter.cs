namespace PolicyModel.Matching;

/// <summary>Writes list files, such as the hashed form of a confidential list.</summary>
public static class ListWriter
{
    /// <summary>The header line that marks a file as <see cref="ListFormat.Hashed"/>.</summary>
    public const string HashedHeader = "# format: sha256";

    /// <summary>
    /// Writes <see cref="ListFormat.Hashed"/> text: the header, then one lower-case SHA-256 hex digest per distinct
    /// entry, in input order. Entries are hosts (<c>example.com</c>) or URL prefixes (<c>example.com/path</c>, a
    /// scheme is allowed); they are normalised first, as described in Matching/README.md. Blank lines and
    /// <c>#</c> comments are skipped. Throws <see cref="InvalidListEntryException"/> naming the first invalid entry (its line)
    /// before anything is written.
    /// </summary>
    public static void WriteHashed(IEnumerable<string> plainEntries, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(plainEntries);
        ArgumentNullException.ThrowIfNull(writer);

        var digests = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int index = 0;
        foreach (string entry in plainEntries)
        {
            index++;
            ReadOnlySpan<char> text = entry.AsSpan().Trim();
            if (text.IsEmpty || text[0] == '#')
                continue;
            string input = EntryText.HashInput(text) ?? throw new InvalidListEntryException(index, entry);
            string digest = HashOf(input);
            if (seen.Add(digest))
                digests.Add(digest);
        }

        writer.WriteLine(HashedHeader);
        foreach (string digest in digests)
            writer.WriteLine(digest);
    }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of a normalised host or <c>host/path</c>.</summary>
    internal static string HashOf(string normalisedHostOrUrl) => EntryText.HashOf(normalisedHostOrUrl);
}

/// <summary>An entry that is not a host name or <c>host/path</c>; <see cref="Line"/> is 1-based, counting every line.</summary>
public sealed class InvalidListEntryException(int line, string entry)
    : FormatException($"entry {line}: '{entry}' is not a valid host name or host/path")
{
    public int Line { get; } = line;

    public string Entry { get; } = entry;
}
