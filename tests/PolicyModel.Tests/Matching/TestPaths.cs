namespace PolicyModel.Tests.Matching;

/// <summary>Where the fixtures and the shared benchmark data live.</summary>
internal static class TestPaths
{
    /// <summary>A file or folder under <c>Fixtures/lists</c>, copied to the test output.</summary>
    public static string List(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "lists", name);

    /// <summary>The folder holding FilterService.sln, found by walking up from the test binaries; null if none.</summary>
    public static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FilterService.sln")))
                return dir.FullName;
        }
        return null;
    }

    /// <summary>
    /// The shared benchmark data: BENCH_DATA if set, else <c>shared/data/bench</c> next to the repository root or
    /// next to one of its parents (a git worktree may sit deeper than the main clone). Null if not found.
    /// </summary>
    public static string? BenchData()
    {
        string? configured = Environment.GetEnvironmentVariable("BENCH_DATA");
        if (!string.IsNullOrEmpty(configured))
            return configured;
        string? root = RepositoryRoot();
        for (var dir = root is null ? null : Directory.GetParent(root); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "bench");
            if (Directory.Exists(candidate))
                return candidate;
        }
        return null;
    }
}

/// <summary>A fact that is reported as skipped, with the reason, when the shared benchmark data is absent.</summary>
public sealed class BenchDataFactAttribute : FactAttribute
{
    public static readonly string[] Files = ["domains-1m.txt.gz", "queries-100k.txt.gz", "queries-100k.expected.tsv.gz"];

    public BenchDataFactAttribute()
    {
        string? dir = TestPaths.BenchData();
        if (dir is null)
            Skip = "Benchmark data not found: no shared/data/bench next to the repository root (or a parent) and BENCH_DATA is not set.";
        else if (Files.FirstOrDefault(f => !File.Exists(Path.Combine(dir, f))) is { } missing)
            Skip = $"Benchmark data not found: {Path.Combine(dir, missing)} is missing (set BENCH_DATA to the folder holding it).";
    }
}
