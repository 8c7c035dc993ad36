using System.Collections.Concurrent;
using PolicyModel.Documents;

namespace PolicyModel.Tests.Samples;

/// <summary>Finds <c>deploy/samples/NAME</c> in the repository and loads each sample once per test run.</summary>
internal static class SampleFiles
{
    public static readonly string[] Names =
        ["default", "cherry-oak-federation", "villiers-primary", "learn-to-live", "oratory-school", "seadown-school"];

    /// <summary>
    /// "Now" for loading (expired-exception warnings): the Monday the scenarios are set around, so the
    /// results do not depend on the day the tests run.
    /// </summary>
    public static readonly TimeProvider Clock = new FixedClock(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));

    private static readonly ConcurrentDictionary<string, Lazy<PolicyLoadResult>> Loaded = new();

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Dir(string sample) => Path.Combine(RepoRoot, "deploy", "samples", sample);

    public static PolicyLoadResult Load(string sample) =>
        Loaded.GetOrAdd(sample, s => new Lazy<PolicyLoadResult>(() => PolicyLoader.Load(Dir(s), Clock))).Value;

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FilterService.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"FilterService.sln not found above {AppContext.BaseDirectory}");
    }
}

internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>A throw-away copy of a sample directory that a test may break; deleted on dispose.</summary>
internal sealed class SampleCopy : IDisposable
{
    public SampleCopy(string sample)
    {
        DirectoryPath = Path.Combine(Path.GetTempPath(), $"sample-{sample}-{Guid.NewGuid():N}");
        Copy(SampleFiles.Dir(sample), DirectoryPath);
    }

    public string DirectoryPath { get; }

    public string PolicyPath => Path.Combine(DirectoryPath, PolicyLoader.FileName);

    public string PolicyText
    {
        get => File.ReadAllText(PolicyPath);
        set => File.WriteAllText(PolicyPath, value);
    }

    public PolicyLoadResult Load() => PolicyLoader.Load(DirectoryPath, SampleFiles.Clock);

    public void Dispose()
    {
        try
        {
            Directory.Delete(DirectoryPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}

/// <summary>Line and column (1-based) of a piece of text, as a diagnostic reports them.</summary>
internal static class TextPosition
{
    public static (int Line, int Column) Of(string text, string token, int occurrence = 1)
    {
        var index = -1;
        for (var i = 0; i < occurrence; i++)
        {
            index = text.IndexOf(token, index + 1, StringComparison.Ordinal);
            if (index < 0)
            {
                throw new ArgumentException($"'{token}' occurs fewer than {occurrence} times");
            }
        }

        var line = 1 + text.AsSpan(0, index).Count('\n');
        var lineStart = index == 0 ? 0 : text.LastIndexOf('\n', index - 1) + 1;
        return (line, index - lineStart + 1);
    }
}
