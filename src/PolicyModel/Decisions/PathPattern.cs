using PolicyModel.Matching;

namespace PolicyModel.Decisions;

/// <summary>
/// A <c>paths:</c> condition: a glob (<c>*</c> is any run of characters, across <c>/</c> and <c>?</c> too) over the
/// request's path and query, both in the canonical form of <see cref="UrlPath"/>, compared ignoring ASCII case as
/// URL-list entries are. Patterns are canonicalised and lower-cased once, at load (<see cref="Compile"/>).
/// </summary>
internal static class PathPattern
{
    /// <summary>The stored form of a pattern as written in policy.yaml.</summary>
    public static string Compile(string written) => UrlPath.Canonicalize(written).ToLowerInvariant();

    /// <summary>Whether <paramref name="canonicalPath"/> (already canonical) matches a compiled pattern. Allocation-free.</summary>
    public static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> canonicalPath)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < canonicalPath.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (p < pattern.Length && pattern[p] == AsciiLower(canonicalPath[t]))
            {
                p++;
                t++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static char AsciiLower(char c) => char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;
}
