using FilterService.Tests.Admin.History;
using static FilterService.Tests.Admin.History.ChangeHistoryStoreTests;

namespace FilterService.Tests.Cli;

/// <summary>Issue 18: <c>verify-history</c>, run as the built binary against a real console.db altered with SQL.</summary>
public sealed class VerifyHistoryCommandTests
{
    [Fact]
    public async Task VerifyHistory_Intact_ExitsZeroWithTheCount()
    {
        var (db, history) = await HistoryVerifierTests.ThreeEntriesAsync();
        var head = (await history.GetAsync(3))!.Hash;

        var (exit, stdout, stderr) = await CaCommandTests.RunAsync("verify-history", "--database", db.Path);

        Assert.True(exit == 0, stderr);
        Assert.Equal($"ok: 3 entries, the hash chain verifies; newest hash {head} ({db.Path})\n", stdout);
    }

    [Theory]
    [InlineData("UPDATE change_history SET reason = 'routine tidy-up' WHERE id = 2", "its hash does not verify")]
    [InlineData("UPDATE change_history_files SET diff = '--- a/policy.yaml' WHERE entry_id = 2", "its hash does not verify")]
    public async Task VerifyHistory_ReasonOrDiffAlteredWithSql_NamesThatEntryAndExitsOne(string sql, string problem)
    {
        var (db, _) = await HistoryVerifierTests.ThreeEntriesAsync();
        HistoryVerifierTests.Tamper(db, sql);

        var (exit, stdout, _) = await CaCommandTests.RunAsync("verify-history", "--database", db.Path);

        Assert.Equal(1, exit);
        Assert.StartsWith($"BROKEN: entry 2 (2026-12-05T09:01:00.0000000Z): {problem}", stdout);
        Assert.Contains("1 entry before it verified", stdout);
    }

    [Fact]
    public async Task VerifyHistory_WithoutDatabase_FindsConsoleDbFromTheServicesSettings()
    {
        var audit = TestSupport.TempDir.Create("audit");
        var db = new FilterService.Admin.ConsoleDatabase(Path.Combine(audit, "console", "console.db"));
        var history = new FilterService.Admin.History.SqliteChangeHistory(db, Microsoft.Extensions.Logging.Abstractions.NullLogger<FilterService.Admin.History.SqliteChangeHistory>.Instance);
        await history.RecordAsync(Edit("a", "one", "x\n", "y\n"), T0, "v1");

        var (exit, stdout, stderr) = await CaCommandTests.RunWithEnvironmentAsync(new Dictionary<string, string> { ["Audit__Path"] = audit }, "verify-history");

        Assert.True(exit == 0, stderr);
        Assert.StartsWith("ok: 1 entry, the hash chain verifies", stdout);
    }

    [Fact]
    public async Task VerifyHistory_NoDatabaseThere_SaysSoAndCreatesNone()
    {
        var path = Path.Combine(TestSupport.TempDir.Create("nodb"), "console.db");

        var (exit, _, stderr) = await CaCommandTests.RunAsync("verify-history", "--database", path);

        Assert.Equal(1, exit);
        Assert.StartsWith($"{path}: error FS0140: no console database here", stderr);
        Assert.False(File.Exists(path));
    }
}
