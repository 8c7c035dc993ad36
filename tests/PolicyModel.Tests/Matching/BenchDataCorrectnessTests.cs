using System.IO.Compression;
using PolicyModel.Matching;

namespace PolicyModel.Tests.Matching;

/// <summary>The 100k labelled queries of the shared benchmark data; skipped (with the reason) on a plain clone.</summary>
public sealed class BenchDataCorrectnessTests
{
    [BenchDataFact]
    public void Match_100kLabelledQueries_AgreeWithExpectedClassAndMatchedDomain()
    {
        string dir = TestPaths.BenchData()!;
        var builder = new DomainMatcherBuilder();
        int id = builder.AddList("domains-1m", 0);
        int line = 0;
        foreach (string domain in ReadLines(Path.Combine(dir, "domains-1m.txt.gz")))
            builder.Add(id, new ListEntry(EntryKind.Subtree, domain, ++line));
        var matcher = builder.Build();
        Assert.Equal(1_437_538, matcher.EntryCount(id));

        int checkedCount = 0;
        var failures = new List<string>();
        foreach (string row in ReadLines(Path.Combine(dir, "queries-100k.expected.tsv.gz")).Skip(1))
        {
            string[] f = row.Split('\t');
            bool listed = f[1] != "unlisted";
            ulong mask = matcher.Match(f[0], "");
            string? entry = matcher.Explain(f[0], "", 0)?.Entry;
            if ((mask != 0) != listed || (listed && entry != f[2]))
                failures.Add($"{f[0]}: expected {f[1]} {f[2]}, got mask {mask} entry {entry}");
            checkedCount++;
        }

        Assert.Equal(100_000, checkedCount);
        Assert.True(failures.Count == 0, $"{failures.Count} wrong answers, first: {string.Join("; ", failures.Take(5))}");
    }

    /// <summary>Records hold 32 bits of a name's hash, not the name: in a table of the 1.4M names, each name's lookup
    /// must agree with its own record and no other (no two names in one probe run share the 40 bits compared), and
    /// their whole 64-bit hashes must all differ.</summary>
    [BenchDataFact]
    public void Lookups_OfThe1_4MBenchmarkNames_EachFindOnlyTheirOwnRecord()
    {
        var seen = new Dictionary<ulong, string>();
        var names = new List<KeyValuePair<string, int>>();
        foreach (string domain in ReadLines(Path.Combine(TestPaths.BenchData()!, "domains-1m.txt.gz")))
        {
            Assert.True(seen.TryAdd(DomainTable.HashOf(domain), domain), $"{domain} has the hash of {seen.GetValueOrDefault(DomainTable.HashOf(domain))}");
            names.Add(new(domain, 0));
        }
        Assert.Equal(1_437_538, names.Count);

        var table = new DomainTable(names);
        var shared = names.Where(n => table.RecordsAgreeingWith(n.Key) != 1).Select(n => n.Key).Take(5).ToList();
        Assert.True(shared.Count == 0, $"lookups that agree with another name's record: {string.Join(", ", shared)}");
    }

    private static IEnumerable<string> ReadLines(string gz)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(gz), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
            yield return line;
    }
}
