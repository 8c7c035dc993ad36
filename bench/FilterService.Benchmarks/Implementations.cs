using System.Collections.Frozen;
using PolicyModel.Matching;

namespace FilterService.Benchmarks;

/// <summary>
/// The three ways of answering "is this host or one of its parents listed?" that the benchmarks compare.
/// The two baselines stop at the first listed suffix (which favours them); the matcher always probes every
/// suffix because it returns the categories of all of them.
/// </summary>
internal static class Implementations
{
    public static HashSet<string> BuildHashSet(string[] domains) => new(domains, StringComparer.Ordinal);

    public static FrozenSet<string> BuildFrozenSet(string[] domains) => domains.ToFrozenSet(StringComparer.Ordinal);

    public static DomainMatcher BuildMatcher(string[] domains)
    {
        var builder = new DomainMatcherBuilder();
        int id = builder.AddList("domains-1m", 0);
        for (int i = 0; i < domains.Length; i++)
            builder.Add(id, new ListEntry(EntryKind.Subtree, domains[i], i + 1));
        return builder.Build();
    }

    /// <summary>The classic approach: probe the host, then each parent suffix, allocating a substring for each.</summary>
    public static bool ListedHashSet(HashSet<string> set, string host)
    {
        if (set.Contains(host))
            return true;
        for (int i = host.IndexOf('.'); i >= 0; i = host.IndexOf('.', i + 1))
        {
            if (set.Contains(host.Substring(i + 1)))
                return true;
        }
        return false;
    }

    /// <summary>The best the BCL offers: a frozen set probed with span slices (no allocation).</summary>
    public static bool ListedFrozen(FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> set, string host)
    {
        ReadOnlySpan<char> span = host;
        if (set.Contains(span))
            return true;
        for (int i = host.IndexOf('.'); i >= 0; i = host.IndexOf('.', i + 1))
        {
            if (set.Contains(span[(i + 1)..]))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Checks every answer of <paramref name="listed"/> against the labelled data; throws on the first wrong one.
    /// Run before any timing so that a fast wrong implementation cannot report a figure.
    /// </summary>
    public static void Verify(string name, string[] queries, string?[] expected, Func<string, bool> listed)
    {
        int wrong = 0;
        string? first = null;
        for (int i = 0; i < queries.Length; i++)
        {
            if (listed(queries[i]) != (expected[i] is not null))
            {
                wrong++;
                first ??= $"{queries[i]} (expected {(expected[i] is null ? "unlisted" : "listed via " + expected[i])})";
            }
        }
        if (wrong != 0)
            throw new InvalidOperationException($"{name}: {wrong} of {queries.Length} answers are wrong, first: {first}");
        Console.WriteLine($"// {name}: all {queries.Length:N0} answers agree with queries-100k.expected.tsv.gz");
    }
}
