using System.Diagnostics;
using FilterService.Admin.History;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin.History;

/// <summary>The history's unified diff: exact text for the cases that matter, and GNU patch as the reference on random edits.</summary>
public sealed class FileDiffTests
{
    public static TheoryData<string?, string?, string> Cases => new()
    {
        { "default: allow\n", "default: block\n", "--- a/p\n+++ b/p\n@@ -1 +1 @@\n-default: allow\n+default: block\n" },
        { "a\nb\nc\n", "a\nB\nc\n", "--- a/p\n+++ b/p\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n" },
        { null, "a\nb\n", "--- /dev/null\n+++ b/p\n@@ -0,0 +1,2 @@\n+a\n+b\n" },
        { "a\n", null, "--- a/p\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n" },
        { "a\nb", "a\nb\n", "--- a/p\n+++ b/p\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n" },
        { "a\r\nb\r\n", "a\r\nc\r\n", "--- a/p\n+++ b/p\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n" },
        { "  x\n", "x\n", "--- a/p\n+++ b/p\n@@ -1 +1 @@\n-  x\n+x\n" },
        {
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n",
            "1\n2\nX\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\nY\n15\n16\n",
            "--- a/p\n+++ b/p\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+X\n 4\n 5\n 6\n@@ -11,6 +11,6 @@\n 11\n 12\n 13\n-14\n+Y\n 15\n 16\n"
        },
        { "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\nX\n4\n5\n6\n7\n8\nY\n", "--- a/p\n+++ b/p\n@@ -1,9 +1,9 @@\n 1\n 2\n-3\n+X\n 4\n 5\n 6\n 7\n 8\n-9\n+Y\n" },
        { "same\n", "same\n", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Unified_IsGnuUnifiedDiff(string? before, string? after, string expected) =>
        Assert.Equal(expected, FileDiff.Unified("p", before, after));

    [Fact]
    public void Render_SummarisedList_SaysTheCountsNotTheContent()
    {
        var before = new FileSummary("3f5a1b2c3d4e5f60" + new string('0', 48), 35_210_112, FileSummary.Entries, 1_402_113).Format();
        var after = new FileSummary("9e8d7c6b5a493827" + new string('1', 48), 35_220_000, FileSummary.Entries, 1_402_500).Format();

        var diff = FileDiff.Render(new FileChange("lists/big.txt", before, after, FileTracking.Summary));

        Assert.Equal("list lists/big.txt changed: 1,402,113 -> 1,402,500 entries; 35,210,112 -> 35,220,000 bytes; sha256 3f5a1b2c3d4e5f60 -> 9e8d7c6b5a493827\n", diff);
    }

    [Fact]
    public void Render_SummarisedUsersFile_SaysLines()
    {
        var after = FileSummary.Of("name,roles\nj.smith,pupil\n"u8, FileSummary.Lines).Format();

        var diff = FileDiff.Render(new FileChange("users.csv", null, after, FileTracking.Summary));

        Assert.StartsWith("users.csv added: 2 lines; 25 bytes; sha256 ", diff);
        Assert.DoesNotContain("j.smith", diff);
    }

    /// <summary>GNU patch, given each diff, must make exactly the text after from the text before (seeded, bounded in time).</summary>
    [Fact]
    public async Task Unified_RandomEdits_GnuPatchReproducesTheTextAfter()
    {
        var random = new Random(18);
        var dir = TempDir.Create("diff");
        var stopwatch = Stopwatch.StartNew();
        for (int round = 0; round < 60 && stopwatch.Elapsed < TimeSpan.FromSeconds(40); round++)
        {
            var before = RandomText(random);
            var after = Mutate(random, before);
            var file = Path.Combine(dir, "f.txt");
            await File.WriteAllTextAsync(file, before);
            var diff = FileDiff.Unified("f.txt", before, after);
            var (exit, output) = await PatchAsync(file, diff);
            Assert.True(exit == 0, $"patch failed ({output}) on\n{diff}");
            Assert.Equal(after, await File.ReadAllTextAsync(file));
        }
    }

    private static string RandomText(Random random)
    {
        var lines = Enumerable.Range(0, random.Next(0, 40)).Select(_ => "line " + random.Next(0, 8)).ToList();
        var text = string.Concat(lines.Select(l => l + "\n"));
        return random.Next(5) == 0 && text.Length > 0 ? text[..^1] : text;
    }

    private static string Mutate(Random random, string text)
    {
        var lines = FileDiff.SplitLines(text).ToList();
        for (int edits = random.Next(1, 6); edits > 0; edits--)
        {
            var at = random.Next(0, lines.Count + 1);
            switch (random.Next(3))
            {
                case 0:
                    lines.Insert(at, $"new {random.Next(0, 8)}\n");
                    break;
                case 1 when at < lines.Count:
                    lines.RemoveAt(at);
                    break;
                default:
                    if (at < lines.Count)
                    {
                        lines[at] = $"changed {random.Next(0, 8)}" + (lines[at].EndsWith('\n') ? "\n" : "");
                    }
                    break;
            }
        }
        var joined = string.Concat(lines.Select((l, i) => i < lines.Count - 1 && !l.EndsWith('\n') ? l + "\n" : l));
        return joined;
    }

    private static async Task<(int Exit, string Output)> PatchAsync(string file, string diff)
    {
        var psi = new ProcessStartInfo("patch", ["--quiet", "--force", "--no-backup-if-mismatch", file])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        await process.StandardInput.WriteAsync(diff);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await output + await error);
    }
}
