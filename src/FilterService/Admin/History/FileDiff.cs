using System.Globalization;
using System.Text;
using DiffPlex;
using DiffPlex.Chunkers;

namespace FilterService.Admin.History;

/// <summary>
/// The diff the history records (and hashes) for one file: for a file kept whole, a unified diff as GNU diff writes
/// it (three lines of context, <c>/dev/null</c> for an absent side, <c>\ No newline at end of file</c>), which
/// <c>patch</c> applies; for a summarised one, one line of counts and hashes (<see cref="FileSummary.Describe"/>).
/// DiffPlex finds the changed lines (Myers); the hunks are rendered here, because its own unified renderer counts
/// the text after the last newline as one more line and writes <c>-1,0</c> for an empty side. Pure; thread-safe.
/// </summary>
internal static class FileDiff
{
    private const int Context = 3;

    /// <summary>Each line with its newline, so that a last line without one differs from the same line with one.</summary>
    private static readonly CustomFunctionChunker Lines = new(SplitLines);

    public static string Render(FileChange file) =>
        file.Tracking == FileTracking.Summary ? FileSummary.Describe(file.Path, file.Before, file.After) : Unified(file.Path, file.Before, file.After);

    public static string Unified(string path, string? before, string? after)
    {
        if (string.Equals(before, after, StringComparison.Ordinal))
        {
            return "";
        }
        var result = Differ.Instance.CreateDiffs(before ?? "", after ?? "", ignoreWhiteSpace: false, ignoreCase: false, Lines);
        var (a, b) = (result.PiecesOld, result.PiecesNew);
        var blocks = result.DiffBlocks;
        var text = new StringBuilder();
        text.Append("--- ").Append(before is null ? "/dev/null" : "a/" + path).Append('\n');
        text.Append("+++ ").Append(after is null ? "/dev/null" : "b/" + path).Append('\n');
        for (int first = 0; first < blocks.Count;)
        {
            // Blocks whose unchanged lines between them fit in the context of both share one hunk.
            int last = first;
            while (last + 1 < blocks.Count && blocks[last + 1].DeleteStartA - (blocks[last].DeleteStartA + blocks[last].DeleteCountA) <= 2 * Context)
            {
                last++;
            }
            var (start, end) = (blocks[first], blocks[last]);
            int aFrom = Math.Max(0, start.DeleteStartA - Context);
            int bFrom = start.InsertStartB - (start.DeleteStartA - aFrom);
            int aTo = Math.Min(a.Count, end.DeleteStartA + end.DeleteCountA + Context);
            int bTo = end.InsertStartB + end.InsertCountB + (aTo - (end.DeleteStartA + end.DeleteCountA));
            text.Append("@@ -").Append(Range(aFrom, aTo - aFrom)).Append(" +").Append(Range(bFrom, bTo - bFrom)).Append(" @@\n");
            int at = aFrom;
            for (int i = first; i <= last; i++)
            {
                var block = blocks[i];
                for (; at < block.DeleteStartA; at++)
                {
                    Line(text, ' ', a[at]);
                }
                for (int k = 0; k < block.DeleteCountA; k++)
                {
                    Line(text, '-', a[block.DeleteStartA + k]);
                }
                for (int k = 0; k < block.InsertCountB; k++)
                {
                    Line(text, '+', b[block.InsertStartB + k]);
                }
                at = block.DeleteStartA + block.DeleteCountA;
            }
            for (; at < aTo; at++)
            {
                Line(text, ' ', a[at]);
            }
            first = last + 1;
        }
        return text.ToString();
    }

    /// <summary>GNU's range: <c>start,count</c>, 1-based; the count left out when 1; an empty range starts at the line before it.</summary>
    private static string Range(int start, int count) => count switch
    {
        0 => string.Create(CultureInfo.InvariantCulture, $"{start},0"),
        1 => (start + 1).ToString(CultureInfo.InvariantCulture),
        _ => string.Create(CultureInfo.InvariantCulture, $"{start + 1},{count}"),
    };

    private static void Line(StringBuilder text, char mark, string piece)
    {
        text.Append(mark).Append(piece);
        if (!piece.EndsWith('\n'))
        {
            text.Append("\n\\ No newline at end of file\n");
        }
    }

    internal static string[] SplitLines(string text)
    {
        var lines = new List<string>();
        int from = 0;
        while (from < text.Length)
        {
            int newline = text.IndexOf('\n', from);
            int to = newline < 0 ? text.Length : newline + 1;
            lines.Add(text[from..to]);
            from = to;
        }
        return [.. lines];
    }
}
