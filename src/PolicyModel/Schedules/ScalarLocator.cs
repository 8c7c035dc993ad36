using PolicyModel.Diagnostics;
using PolicyModel.Files;

namespace PolicyModel.Schedules;

/// <summary>
/// Points a diagnostic at a token inside a YAML scalar (<c>tues</c> in <c>"mon,tues"</c>). The spec only gives the
/// scalar's start, which is the opening quote when it is quoted; so we look at the source line, and refine the column
/// only when the scalar's text is found there verbatim (plain or quoted, no escapes). Otherwise the scalar's start
/// is used. Reads files only on the error path; caches lines per file. Not thread-safe.
/// </summary>
internal sealed class ScalarLocator(string policyDirectory)
{
    private readonly Dictionary<string, string[]?> _files = new();

    public SourceLocation Locate(SourceLocation scalarAt, string scalar, int offset)
    {
        if (scalarAt.Line <= 0 || scalarAt.Column <= 0)
            return scalarAt;

        var lines = Lines(scalarAt.File);
        if (lines is null || scalarAt.Line > lines.Length)
            return scalarAt;

        var line = lines[scalarAt.Line - 1];
        var start = scalarAt.Column - 1;
        if (start < line.Length && line[start] is '"' or '\'')
            start++;
        return start + scalar.Length <= line.Length && string.CompareOrdinal(line, start, scalar, 0, scalar.Length) == 0
            ? scalarAt with { Column = start + offset + 1 }
            : scalarAt;
    }

    private string[]? Lines(string file)
    {
        if (!_files.TryGetValue(file, out var lines))
        {
            try
            {
                lines = PolicyFiles.ReadQuietly(Path.Combine(policyDirectory, file), PolicyFiles.MaxTableBytes)?.Split(["\r\n", "\r", "\n"], StringSplitOptions.None);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                lines = null;
            }

            _files[file] = lines;
        }

        return lines;
    }
}
