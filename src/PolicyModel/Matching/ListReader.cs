namespace PolicyModel.Matching;

/// <summary>Reads list files in every supported format into normalised entries.</summary>
public static class ListReader
{
    /// <summary>
    /// Reads <paramref name="path"/> (a file, or a UT1 folder). <paramref name="exact"/> marks every
    /// domain entry as exact-host instead of subtree. Malformed lines are skipped and reported as warnings;
    /// a missing file throws <see cref="FileNotFoundException"/> (the policy loader checks existence first).
    /// <paramref name="displayPath"/> is what warnings name as the file.
    /// </summary>
    public static ParsedList Read(string path, string displayPath, ListFormat format = ListFormat.Auto, bool exact = false)
        => throw new NotImplementedException();
}
