namespace PolicyModel.Matching;

/// <summary>Writes lists in the formats the readers accept.</summary>
public static class ListWriter
{
    /// <summary>Writes the hashed form of plain entries (hosts or host/path URLs), one SHA-256 hex digest a line.</summary>
    public static void WriteHashed(IEnumerable<string> plainEntries, TextWriter output) => throw new NotImplementedException();
}
