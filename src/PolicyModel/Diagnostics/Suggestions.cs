namespace PolicyModel.Diagnostics;

/// <summary>"Did you mean" for misspelt names: a known name the word starts with (or that starts with it), or the closest by edit distance.</summary>
internal static class Suggestions
{
    private const int MaxWordLength = 100;

    public static string? Closest(string word, IEnumerable<string> known)
    {
        // Nobody misspells a name as a paragraph, and edit distance is quadratic: a megabyte-long value would stall a load.
        if (word.Length > MaxWordLength)
        {
            return null;
        }

        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            // "tues", "thurs", "monday", "staf", "role": people write longer or shorter forms of the names.
            if (word.StartsWith(candidate, StringComparison.OrdinalIgnoreCase)
                || (word.Length >= 2 && candidate.StartsWith(word, StringComparison.OrdinalIgnoreCase)))
            {
                return candidate;
            }

            var d = Distance(word, candidate);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }

        return bestDistance <= Math.Max(2, word.Length / 4) && bestDistance < word.Length ? best : null;
    }

    /// <summary>Returns <c>; did you mean 'x'?</c> when there is a close name, otherwise <paramref name="otherwise"/>.</summary>
    public static string DidYouMean(string word, IEnumerable<string> known, string otherwise = "") =>
        Closest(word, known) is { } s ? $"; did you mean '{s}'?" : otherwise;

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
