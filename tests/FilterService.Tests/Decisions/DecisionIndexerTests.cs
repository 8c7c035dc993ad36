using System.Text;
using FilterService.Admin;
using FilterService.Admin.Decisions;
using FilterService.Audit;

namespace FilterService.Tests.Decisions;

/// <summary>
/// Issues 18 and 19: the decision index follows audit files written by the real <see cref="AuditLog"/>: the day being
/// written as it grows, rolled and gzipped days, retention's deletions, a torn last line, a restart.
/// </summary>
public sealed class DecisionIndexerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("decisions-").FullName;
    private string AuditDir => Path.Combine(_root, "logs");
    private string IndexPath => Path.Combine(_root, "console", DecisionIndexStore.FileName);

    private static PupilNames Names() => new(["pupil"], Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private List<DecisionRow> All(DecisionIndexStore store, bool seesNames = true, DecisionQuery? query = null)
    {
        var search = new DecisionSearch(store, Names());
        var rows = new List<DecisionRow>();
        var q = query ?? new DecisionQuery();
        q = q with { PageSize = 7 };
        while (true)
        {
            var page = search.Search(q, seesNames);
            rows.AddRange(page.Rows);
            if (page.Next is null)
            {
                return rows;
            }
            q = q with { Before = page.Next };
        }
    }

    [Fact]
    public void Decisions_Indexer_FollowsTheGrowingDay_GzippedRolls_AndRetentionDeletions()
    {
        var store = new DecisionIndexStore(IndexPath);
        var indexer = new DecisionIndexer(store, AuditDir);
        using var writer = new DecisionAuditWriter(AuditDir, retainDays: 3);
        for (int i = 0; i < 60; i++)
        {
            writer.Write(DecisionAuditWriter.Day(2).AddSeconds(i));
        }
        writer.WaitForDisk(60);
        Assert.Equal(60, indexer.RunPass(default).Records);

        for (int i = 0; i < 40; i++)
        {
            writer.Write(DecisionAuditWriter.Day(2).AddMinutes(5).AddSeconds(i)); // the same day, grown
        }
        writer.WaitForDisk(100);
        Assert.Equal(40, indexer.RunPass(default).Records);

        for (int i = 0; i < 30; i++)
        {
            writer.Write(DecisionAuditWriter.Day(3).AddSeconds(i)); // a new day: day 2 is rolled and gzipped
        }
        writer.WaitForDisk(130);
        var pass = indexer.RunPass(default);
        Assert.Equal(30, pass.Records); // the gzipped day is not read twice
        Assert.Equal(130, pass.TotalRecords);
        Assert.Equal(writer.Written.Select(r => r.Reference).Reverse(), All(store).Select(r => r.Reference));

        for (int i = 0; i < 20; i++)
        {
            writer.Write(DecisionAuditWriter.Day(4).AddSeconds(i));
        }
        for (int i = 0; i < 10; i++)
        {
            writer.Write(DecisionAuditWriter.Day(5).AddSeconds(i)); // retention keeps 3 days: day 2 goes
        }
        writer.WaitForDisk(60, () => !writer.Exists("audit-20261102.json.gz"));
        pass = indexer.RunPass(default);
        Assert.Equal(1, pass.DaysDeleted);
        Assert.Equal(100, pass.RowsDeleted);
        Assert.Equal(0, pass.LagBytes);
        var rows = All(store);
        Assert.Equal(writer.Written.Skip(100).Select(r => r.Reference).Reverse(), rows.Select(r => r.Reference));
        Assert.DoesNotContain(rows, r => r.At < DecisionAuditWriter.Day(3, 0));
    }

    [Fact]
    public void Decisions_Indexer_TornLastLine_WaitsForItsEnd_ThenCountsItUnreadable_AndResumesAfterARestart()
    {
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            for (int i = 0; i < 25; i++)
            {
                writer.Write(DecisionAuditWriter.Day(10).AddSeconds(i));
            }
        }
        var day = Path.Combine(AuditDir, "audit-20261110.json");
        long whole = new FileInfo(day).Length;
        // A crash in the middle of a line: the writer's bytes up to the tear.
        File.AppendAllText(day, "{\"time\":\"2026-11-10T09:30:00.000Z\",\"client\":\"10.40.1.9\",\"user\":\"tor", Encoding.UTF8);

        var first = new DecisionIndexer(new DecisionIndexStore(IndexPath), AuditDir);
        var pass = first.RunPass(default);
        Assert.Equal(25, pass.Records);
        Assert.Equal(0, pass.Malformed);
        using (var connection = new DecisionIndexStore(IndexPath).Open())
        {
            Assert.Equal(whole, new DecisionIndexStore(IndexPath).Files(connection)["audit-20261110.json"].Position); // the torn line is left for later
        }

        // The service starts again: its writer ends the torn line and appends; a new indexer resumes where the last stopped.
        using (var writer = new DecisionAuditWriter(AuditDir, firstSerial: 1000))
        {
            for (int i = 0; i < 5; i++)
            {
                writer.Write(DecisionAuditWriter.Day(10, 11).AddSeconds(i));
            }
        }
        var restarted = new DecisionIndexer(new DecisionIndexStore(IndexPath), AuditDir);
        pass = restarted.RunPass(default);
        Assert.Equal(5, pass.Records);
        Assert.Equal(1, pass.Malformed);
        Assert.Equal(30, pass.TotalRecords);
        var refs = All(new DecisionIndexStore(IndexPath)).Select(r => r.Reference).ToList();
        Assert.Equal(30, refs.Distinct().Count());
        Assert.Equal(0, restarted.RunPass(default).Records);
    }

    [Fact]
    public void Decisions_Indexer_DaysWrittenWhileDown_AreIndexedAtTheNextPass_AndReindexBuildsTheSame()
    {
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            for (int day = 12; day <= 15; day++)
            {
                for (int i = 0; i < 15; i++)
                {
                    writer.Write(DecisionAuditWriter.Day(day).AddSeconds(i));
                }
            }
            writer.WaitForDisk(60);
        }
        var store = new DecisionIndexStore(IndexPath);
        Assert.Equal(60, new DecisionIndexer(store, AuditDir).RunPass(default).Records);
        var incremental = All(store).Select(r => r.Reference).ToList();

        var rebuilt = DecisionsCommand.Rebuild(AuditDir, Path.Combine(_root, "rebuilt", DecisionIndexStore.FileName));
        Assert.Equal(60, rebuilt.Records);
        Assert.Equal(4, rebuilt.Days);
        var fresh = new DecisionIndexStore(rebuilt.Path);
        Assert.True(fresh.HasIndexes());
        Assert.Equal(incremental, All(fresh).Select(r => r.Reference));
    }

    /// <summary>
    /// The pool keeps the pass's connection until the next pass, two seconds on in the service: the pass hands its page
    /// cache back first, so the index holds none of it between passes (bench/load: RSS after load). The second half
    /// shows the measure can fail: a connection returned with a warm cache comes back from the pool with it.
    /// </summary>
    [Fact]
    public void Decisions_Indexer_APass_LeavesThePooledConnectionWithoutItsPageCache()
    {
        var store = new DecisionIndexStore(IndexPath);
        var indexer = new DecisionIndexer(store, AuditDir);
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            for (int i = 0; i < 3_000; i++)
            {
                writer.Write(DecisionAuditWriter.Day(9).AddSeconds(i), user: $"user{i % 97}", host: $"site{i % 311}.example");
            }
            writer.WaitForDisk(3_000);
        }
        Assert.Equal(3_000, indexer.RunPass(default).Records);
        using (var pooled = store.Open())
        {
            Assert.True(CacheBytes(pooled) < 32 << 10, $"the pass left {CacheBytes(pooled) >> 10} KB of page cache in its connection");
            DecisionIndexStore.Execute(pooled, "SELECT count(*) FROM decisions WHERE host IS NOT NULL; SELECT count(*) FROM terms;");
            Assert.True(CacheBytes(pooled) > 64 << 10, $"a scan left only {CacheBytes(pooled) >> 10} KB");
        }
        using var again = store.Open();
        Assert.True(CacheBytes(again) > 64 << 10, "the pool did not hand back the same connection: the first measure proves nothing");
    }

    /// <summary>The bytes the connection's page cache holds now (SQLITE_DBSTATUS_CACHE_USED).</summary>
    private static long CacheBytes(Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        const int CacheUsed = 1;
        Assert.Equal(0, SQLitePCL.raw.sqlite3_db_status(connection.Handle, CacheUsed, out int current, out _, 0));
        return current;
    }

    [Fact]
    public async Task Decisions_ReindexCommand_RebuildsTheIndexFromTheFiles_AndSaysWhereAnAuditDirectoryIsMissing()
    {
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            for (int i = 0; i < 20; i++)
            {
                writer.Write(DecisionAuditWriter.Day(8).AddSeconds(i));
            }
        }
        var data = Path.Combine(_root, "data");
        var (code, output) = await TestSupport.AdminAccounts.RunAsync(["decisions", "reindex", "--audit", AuditDir, "--data", data]);
        Assert.True(code == 0, output);
        Assert.Contains("indexed 20 records from 1 day(s)", output);
        Assert.Equal(20, All(new DecisionIndexStore(Path.Combine(data, DecisionIndexStore.FileName))).Count);

        var missing = Path.Combine(_root, "no-such-dir");
        (code, output) = await TestSupport.AdminAccounts.RunAsync(["decisions", "reindex", "--audit", missing, "--data", data]);
        Assert.Equal(1, code);
        Assert.Contains($"{missing}: error FS0012: the audit directory does not exist", output);
    }

    [Fact]
    public void Decisions_Search_FiltersByUserClientHostCategoryActionAndTime_AsTheRecordsSay()
    {
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            for (int i = 0; i < 210; i++)
            {
                writer.Write(DecisionAuditWriter.Day(20).AddMinutes(i));
            }
        }
        var store = new DecisionIndexStore(IndexPath);
        new DecisionIndexer(store, AuditDir).RunPass(default);
        var lines = TestSupport.AuditFiles.Read(AuditDir);
        string? Str(System.Text.Json.JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;
        List<string?> Expected(Func<System.Text.Json.JsonElement, bool> match) => lines.Where(match).Select(e => Str(e, "ref")).Reverse().ToList();

        Assert.Equal(Expected(e => Str(e, "user") == "user3"), All(store, query: new DecisionQuery { User = "USER3" }).Select(r => r.Reference));
        Assert.Equal(Expected(e => Str(e, "client") == "10.40.1.6"), All(store, query: new DecisionQuery { Client = "10.40.1.6" }).Select(r => r.Reference));
        Assert.Equal(Expected(e => Str(e, "url")!.Contains("facebook.com", StringComparison.Ordinal)),
            All(store, query: new DecisionQuery { Host = "facebook.com" }).Select(r => r.Reference)); // subdomains too
        Assert.Equal(Expected(e => Str(e, "category") == "news" && Str(e, "action") == "block"),
            All(store, query: new DecisionQuery { Category = "news", Blocked = true }).Select(r => r.Reference));
        var from = DecisionAuditWriter.Day(20).AddMinutes(30);
        var until = DecisionAuditWriter.Day(20).AddMinutes(90);
        Assert.Equal(Expected(e => Str(e, "action") == "allow" && Str(e, "user") == "user1" && e.GetProperty("time").GetDateTimeOffset() >= from
                && e.GetProperty("time").GetDateTimeOffset() < until),
            All(store, query: new DecisionQuery { User = "user1", Blocked = false, From = from, Until = until }).Select(r => r.Reference));
        Assert.Empty(All(store, query: new DecisionQuery { Host = "facebook.com", Category = "news" }));
        Assert.Empty(All(store, query: new DecisionQuery { User = "nobody" }));
    }

    [Fact]
    public void Decisions_Search_APupilIsFoundByPseudonym_ButNotByName_UnlessTheViewerIsTheDsl()
    {
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            for (int i = 0; i < 14; i++)
            {
                writer.Write(DecisionAuditWriter.Day(21).AddMinutes(i)); // user0..user4 pupils, user5, user6 staff
            }
        }
        var store = new DecisionIndexStore(IndexPath);
        new DecisionIndexer(store, AuditDir).RunPass(default);
        var pseudonym = Names().Pseudonym("user2");

        Assert.Equal(2, All(store, seesNames: true, new DecisionQuery { User = "user2" }).Count);
        Assert.Empty(All(store, seesNames: false, new DecisionQuery { User = "user2" }));
        var byPseudonym = All(store, seesNames: false, new DecisionQuery { User = pseudonym });
        Assert.Equal(2, byPseudonym.Count);
        Assert.All(byPseudonym, r => Assert.Equal("user2", r.User));
        Assert.Equal(2, All(store, seesNames: false, new DecisionQuery { User = "user6" }).Count); // staff are shown as they are
    }

    /// <summary>
    /// A stop that arrives while a batch is being read (up to 20,000 rows) ends the pass within 1,024 rows, rolls the
    /// batch back, and loses nothing: the next pass indexes every row once. The stop is requested when the batch has
    /// begun (the pacing's CPU clock is read then), after the pass's own check between batches.
    /// </summary>
    [Fact]
    public void Decisions_Indexer_AStopInsideABatch_RollsItBack_AndTheNextPassIndexesEveryRowOnce()
    {
        using (var writer = new DecisionAuditWriter(AuditDir))
        {
            for (int i = 0; i < 3000; i++)
            {
                writer.Write(DecisionAuditWriter.Day(2).AddSeconds(i));
            }
            writer.WaitForDisk(3000);
        }
        var store = new DecisionIndexStore(IndexPath);
        using var stop = new CancellationTokenSource();
        var stopping = new DecisionIndexer(store, AuditDir)
        {
            CpuTime = () =>
            {
                stop.Cancel();
                return null;
            },
        };
        Assert.ThrowsAny<OperationCanceledException>(() => stopping.RunPass(stop.Token));
        var next = new DecisionIndexer(store, AuditDir).RunPass(default);
        Assert.Equal(3000, next.Records); // the stopped batch committed nothing
        Assert.Equal(3000, next.TotalRecords);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
