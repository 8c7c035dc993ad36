namespace FilterService.Tests.Architecture;

/// <summary>
/// No source file under src/ (both assemblies) grows past <see cref="MaxLines"/> lines: a file that long holds more than
/// one concern, and is split (a partial class per step, as ConnectFlow and TunnelLoop are) rather than let grow.
/// </summary>
public sealed class SourceFileSizeTests
{
    private const int MaxLines = 400;

    /// <summary>
    /// Files allowed past the limit, by path from the repository root with '/' separators, each with why. Empty: none
    /// is over it. An entry whose file is back under the limit (or gone) fails the test, so the list only shrinks.
    /// </summary>
    private static readonly Dictionary<string, string> AllowedLonger = new(StringComparer.Ordinal)
    {
    };

    [Fact]
    public void SourceFiles_AreAtMost400Lines()
    {
        var over = LongFiles().Where(f => !AllowedLonger.ContainsKey(f.Path)).Select(f => $"  {f.Path}: {f.Lines} lines").ToArray();
        Assert.True(over.Length == 0,
            $"source files over {MaxLines} lines: split them by concern, or add them to AllowedLonger with a reason\n" + string.Join("\n", over));
    }

    [Fact]
    public void AllowedLonger_NamesOnlyFilesStillOverTheLimit()
    {
        var longer = LongFiles().Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var stale = AllowedLonger.Keys.Where(p => !longer.Contains(p)).Order(StringComparer.Ordinal).ToArray();
        Assert.True(stale.Length == 0, "AllowedLonger names files no longer over the limit (delete them):\n  " + string.Join("\n  ", stale));
    }

    [Fact]
    public void SourceFiles_AreFound()
    {
        Assert.Contains(SourceFiles(), f => f.Path == "src/FilterService/Proxy/ConnectFlow.cs");
        Assert.Contains(SourceFiles(), f => f.Path == "src/PolicyModel/Files/PolicyFiles.cs");
    }

    private static IEnumerable<(string Path, int Lines)> LongFiles() => SourceFiles().Where(f => f.Lines > MaxLines);

    /// <summary>Every .cs file under src/, build output (bin/, obj/) excepted, with its line count.</summary>
    private static IEnumerable<(string Path, int Lines)> SourceFiles()
    {
        var src = Path.Combine(RepoPaths.Root, "src");
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(RepoPaths.Root, file).Replace('\\', '/');
            var parts = relative.Split('/');
            if (parts.Contains("bin") || parts.Contains("obj"))
            {
                continue;
            }
            yield return (relative, File.ReadLines(file).Count());
        }
    }
}
