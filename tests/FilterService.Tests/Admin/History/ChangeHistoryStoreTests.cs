using FilterService.Admin;
using FilterService.Admin.History;
using FilterService.Tests.TestSupport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace FilterService.Tests.Admin.History;

/// <summary>Issue 18: the SQLite change history, append-only and hash-chained, on a real console.db.</summary>
public sealed class ChangeHistoryStoreTests
{
    internal static readonly DateTimeOffset T0 = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    internal static (ConsoleDatabase Db, SqliteChangeHistory History) NewStore()
    {
        var db = new ConsoleDatabase(Path.Combine(TempDir.Create("history"), "console.db"));
        return (db, new SqliteChangeHistory(db, NullLogger<SqliteChangeHistory>.Instance));
    }

    internal static PolicyChange Edit(string who, string reason, string before, string after, string path = "policy.yaml") =>
        new(who, reason, ChangeSource.Console, [new FileChange(path, before, after)]);

    [Fact]
    public async Task Record_FirstEntry_ChainsFromGenesisAndReadsBackEveryField()
    {
        var (_, history) = NewStore();

        var entry = await history.RecordAsync(Edit("a.admin", "block example-test.org for pupils", "default: allow\n", "default: block\n"), T0.AddTicks(1234567), "v1");

        Assert.Equal(1, entry.Id);
        Assert.Equal(EntryHash.Genesis, entry.PreviousHash);
        Assert.Matches("^[0-9a-f]{64}$", entry.Hash);
        var read = await history.GetAsync(1);
        Assert.NotNull(read);
        Assert.Equal(T0.AddTicks(1234567), read.At);
        Assert.Equal("a.admin", read.Change.Who);
        Assert.Equal("block example-test.org for pupils", read.Change.Reason);
        Assert.Equal(ChangeSource.Console, read.Change.Source);
        Assert.Equal("v1", read.PolicyVersion);
        Assert.Equal(entry.Hash, read.Hash);
        var file = Assert.Single(read.Change.Files);
        Assert.Equal(("policy.yaml", "default: allow\n", "default: block\n", FileTracking.Content), (file.Path, file.Before, file.After, file.Tracking));
        Assert.Equal("--- a/policy.yaml\n+++ b/policy.yaml\n@@ -1 +1 @@\n-default: allow\n+default: block\n", file.Diff);
    }

    [Fact]
    public async Task Record_SecondEntry_CarriesTheFirstEntrysHash()
    {
        var (_, history) = NewStore();
        var first = await history.RecordAsync(Edit("a", "one", "x\n", "y\n"), T0, "v1");

        var second = await history.RecordAsync(Edit("b", "two", "y\n", "z\n"), T0.AddMinutes(1), "v2");

        Assert.Equal(2, second.Id);
        Assert.Equal(first.Hash, second.PreviousHash);
        Assert.NotEqual(first.Hash, second.Hash);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Record_WithoutAReason_IsRefusedAndWritesNothing(string reason)
    {
        var (_, history) = NewStore();

        await Assert.ThrowsAsync<ArgumentException>(() => history.RecordAsync(Edit("a", reason, "x", "y"), T0, "v1"));

        Assert.Empty(await history.ListAsync(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, 10));
    }

    [Fact]
    public async Task Record_RevertOfAnEntryThatDoesNotExist_IsRefused()
    {
        var (_, history) = NewStore();
        await history.RecordAsync(Edit("a", "one", "x\n", "y\n"), T0, "v1");

        var revert = new PolicyChange("a", "undo", ChangeSource.Revert, [new FileChange("policy.yaml", "y\n", "x\n")], Reverts: 7);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => history.RecordAsync(revert, T0, "v2"));
        Assert.StartsWith("entry 7 does not exist", e.Message);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../outside.yaml")]
    [InlineData("lists/../../x")]
    public async Task Record_PathOutsideThePolicyDirectory_IsRefused(string path)
    {
        var (_, history) = NewStore();

        await Assert.ThrowsAsync<ArgumentException>(() => history.RecordAsync(Edit("a", "r", "x", "y", path), T0, "v1"));
    }

    [Fact]
    public async Task Database_RefusesUpdateAndDelete_TheHistoryIsAppendOnly()
    {
        var (db, history) = NewStore();
        await history.RecordAsync(Edit("a", "one", "x\n", "y\n"), T0, "v1");

        using var connection = db.Open();
        foreach (var sql in new[] { "UPDATE change_history SET reason = 'x'", "DELETE FROM change_history", "UPDATE change_history_files SET diff = ''", "DELETE FROM change_history_files" })
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            var e = Assert.Throws<SqliteException>(() => command.ExecuteNonQuery());
            Assert.Contains("the change history is append-only", e.Message);
        }
        Assert.Equal("one", (await history.GetAsync(1))!.Change.Reason);
    }

    [Fact]
    public async Task List_IsHalfOpenNewestFirstAndLimited()
    {
        var (_, history) = NewStore();
        for (int i = 0; i < 5; i++)
        {
            await history.RecordAsync(Edit("a", $"change {i}", $"{i}\n", $"{i + 1}\n"), T0.AddHours(i), $"v{i}");
        }

        var some = await history.ListAsync(T0.AddHours(1), T0.AddHours(4), 10);
        Assert.Equal([4L, 3L, 2L], some.Select(e => e.Id));
        var limited = await history.ListAsync(T0, T0.AddDays(1), 2);
        Assert.Equal([5L, 4L], limited.Select(e => e.Id));
        var page = await history.PageAsync(beforeId: 4, limit: 2);
        Assert.Equal([3L, 2L], page.Select(e => e.Id));
    }

    [Fact]
    public async Task LatestFiles_IsTheNewestAfterOfEveryPath()
    {
        var (_, history) = NewStore();
        await history.RecordAsync(new PolicyChange("baseline", "first", ChangeSource.Baseline,
            [new FileChange("policy.yaml", null, "a\n"), new FileChange("lists/own.txt", null, "x.org\n"), new FileChange("users.csv", null, "sha256 00\nbytes 1\nlines 1\n", FileTracking.Summary)]), T0, "v1");
        await history.RecordAsync(Edit("b", "two", "a\n", "b\n"), T0.AddMinutes(1), "v2");
        await history.RecordAsync(new PolicyChange("file edit", "gone", ChangeSource.FileEdit, [new FileChange("lists/own.txt", "x.org\n", null)]), T0.AddMinutes(2), "v3");

        var latest = await history.LatestFilesAsync();

        Assert.Equal(new RecordedFile(2, "b\n", FileTracking.Content), latest["policy.yaml"]);
        Assert.Equal(new RecordedFile(3, null, FileTracking.Content), latest["lists/own.txt"]);
        Assert.Equal(FileTracking.Summary, latest["users.csv"].Tracking);
    }

    [Fact]
    public async Task Record_TwoWritersAtOnce_NeverForkTheChain()
    {
        var (db, _) = NewStore();
        var a = new SqliteChangeHistory(db, NullLogger<SqliteChangeHistory>.Instance);
        var b = new SqliteChangeHistory(db, NullLogger<SqliteChangeHistory>.Instance);

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).RecordAsync(Edit("a", $"r{i}", "x\n", $"{i}\n"), T0.AddSeconds(i), "v"))));

        var all = (await a.ListAsync(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, 100)).OrderBy(e => e.Id).ToList();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), all.Select(e => e.Id));
        for (int i = 1; i < all.Count; i++)
        {
            Assert.Equal(all[i - 1].Hash, all[i].PreviousHash);
        }
        Assert.Equal(HistoryVerdict.Intact, HistoryVerifier.Verify(db).Verdict);
    }
}
