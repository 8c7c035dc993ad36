using System.IO.Compression;

namespace FilterService.Benchmarks;

/// <summary>
/// The shared benchmark data (see shared/data/SOURCES.md section 5): 1,437,538 listed domains and 100,000 labelled
/// queries. Found through BENCH_DATA, else <c>shared/data/bench</c> next to the repository root or one of its parents.
/// </summary>
internal static class BenchData
{
    public const int DomainCount = 1_437_538;
    public const int QueryCount = 100_000;

    public static string Directory()
    {
        string? configured = Environment.GetEnvironmentVariable("BENCH_DATA");
        if (!string.IsNullOrEmpty(configured))
            return configured;

        foreach (string start in new[] { System.IO.Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            DirectoryInfo? root = null;
            for (var dir = new DirectoryInfo(start); dir is not null && root is null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "FilterService.sln")))
                    root = dir;
            }
            for (var dir = root?.Parent; dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "data", "bench");
                if (System.IO.Directory.Exists(candidate))
                    return candidate;
            }
        }
        throw new DirectoryNotFoundException(
            "Benchmark data not found: set BENCH_DATA to the folder holding domains-1m.txt.gz, or run from the repository " +
            "with shared/data/bench next to it.");
    }

    /// <summary>The listed domains, freshly read (new string instances on every call).</summary>
    public static string[] Domains()
    {
        var domains = new List<string>(DomainCount);
        domains.AddRange(ReadLines("domains-1m.txt.gz"));
        if (domains.Count != DomainCount)
            throw new InvalidDataException($"domains-1m.txt.gz holds {domains.Count} lines, expected {DomainCount}.");
        return domains.ToArray();
    }

    /// <summary>The queries in file order, and for each the most specific listed domain (null when unlisted).</summary>
    public static (string[] Queries, string?[] Expected) Queries()
    {
        string[] queries = ReadLines("queries-100k.txt.gz").ToArray();
        var expected = new Dictionary<string, string?>(QueryCount, StringComparer.Ordinal);
        foreach (string row in ReadLines("queries-100k.expected.tsv.gz").Skip(1))
        {
            string[] f = row.Split('\t');
            expected.Add(f[0], f[1] == "unlisted" ? null : f[2]);
        }
        if (queries.Length != QueryCount || expected.Count != QueryCount)
            throw new InvalidDataException($"Expected {QueryCount} queries and answers, found {queries.Length} and {expected.Count}.");
        return (queries, queries.Select(q => expected[q]).ToArray());
    }

    private static IEnumerable<string> ReadLines(string name)
    {
        string path = Path.Combine(Directory(), name);
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress), bufferSize: 1 << 16);
        while (reader.ReadLine() is { } line)
            yield return line;
    }
}
