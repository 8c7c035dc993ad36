using System.CommandLine;
using System.Diagnostics;
using FilterService.Hosting;
using Microsoft.AspNetCore.Builder;
using FilterService.Settings;

namespace FilterService.Admin.Decisions;

/// <summary>
/// <c>decisions reindex [--audit DIR] [--data DIR]</c>: deletes the decision index and builds it again from the audit
/// files (plain and gzipped), which stay the record. Rows are loaded without the search's indexes, which are built
/// once at the end (much faster than updating them row by row). Run it with the service stopped; a service that
/// starts without an index builds one by itself, in the background.
/// </summary>
internal static class DecisionsCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var audit = new Option<string>("--audit") { Description = "The audit directory (default: Audit:Path from the service's settings)" };
        var data = new Option<string>("--data") { Description = "The console's data directory holding decisions.db (default: Console:DataPath)" };
        var reindex = new Command("reindex", "Delete the decision index and build it again from the audit files") { audit, data };
        reindex.SetAction(parse => Reindex(parse.GetValue(audit), parse.GetValue(data), stdout, stderr));
        return new Command("decisions", "The console's decision index (derived from the audit files)") { reindex };
    }

    private static int Reindex(string? auditDir, string? dataDir, TextWriter stdout, TextWriter stderr)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        var errors = new List<string>();
        var options = ServiceOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, errors);
        var auditPath = auditDir is not null ? Path.GetFullPath(auditDir) : options?.Audit.Path;
        if (auditPath is null)
        {
            stderr.WriteLine($"config: error FS0001: {errors.FirstOrDefault() ?? "Audit:Path is not set"} (or give --audit)");
            return 2;
        }
        if (!Directory.Exists(auditPath))
        {
            stderr.WriteLine($"{auditPath}: error FS0012: the audit directory does not exist");
            return 1;
        }
        var dataPath = dataDir is not null ? Path.GetFullPath(dataDir)
            : ConsoleOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, errors).DataPath;
        var result = Rebuild(auditPath, Path.Combine(dataPath, DecisionIndexStore.FileName));
        stdout.WriteLine($"indexed {result.Records:N0} records from {result.Days} day(s) in {result.Load.TotalSeconds:0.0} s, search indexes built in "
            + $"{result.Indexes.TotalSeconds:0.0} s; {result.Malformed} unreadable line(s); {result.Bytes / 1048576.0:0.0} MB in {result.Path}");
        return 0;
    }

    /// <summary>Deletes <paramref name="indexPath"/> (and its WAL) and builds it from <paramref name="auditPath"/>.</summary>
    public static RebuildResult Rebuild(string auditPath, string indexPath, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(indexPath))!);
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(indexPath + suffix);
        }
        var store = new DecisionIndexStore(indexPath);
        var loadStarted = TimeProvider.System.GetTimestamp();
        TimeSpan loadTime;
        IndexPass pass;
        using (var connection = store.Open(256))
        {
            store.DropIndexes(connection);
            pass = new DecisionIndexer(store, auditPath).RunPass(cancel, connection);
            loadTime = TimeProvider.System.GetElapsedTime(loadStarted);
        }
        var indexesStarted = TimeProvider.System.GetTimestamp();
        using (var connection = store.Open(1024))
        {
            store.CreateIndexes(connection);
            DecisionIndexStore.Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        }
        var indexesTime = TimeProvider.System.GetElapsedTime(indexesStarted);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        int days = AuditDay.List(auditPath).Count;
        return new RebuildResult(indexPath, pass.TotalRecords, days, pass.Malformed, loadTime, indexesTime, new FileInfo(indexPath).Length);
    }
}

internal sealed record RebuildResult(string Path, long Records, int Days, long Malformed, TimeSpan Load, TimeSpan Indexes, long Bytes);
