using System.CommandLine;
using FilterService.Admin;
using FilterService.Admin.History;

namespace FilterService.Cli;

/// <summary>
/// <c>verify-history [--database console.db]</c>: walks the change history's hash chain (<see cref="HistoryVerifier"/>)
/// and exits 0 with the count and newest hash when every entry verifies, 1 naming the first entry that does not (its
/// id, when, what is wrong). Without --database it finds <c>console.db</c> where the service keeps it, from the same
/// settings the service reads (<c>Console:DataPath</c>, default <c>&lt;Audit:Path&gt;/console</c>).
/// </summary>
internal static class VerifyHistoryCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var database = new Option<FileInfo>("--database") { Description = "The console database (default: console.db in Console:DataPath from the service's settings)" };
        var command = new Command("verify-history", "Verify the change history's hash chain: exit 0 if intact, 1 naming the first altered entry") { database };
        command.SetAction(parse => Run(parse.GetValue(database)?.FullName ?? DefaultPath(), stdout, stderr));
        return command;
    }

    internal static int Run(string path, TextWriter stdout, TextWriter stderr)
    {
        if (!File.Exists(path))
        {
            // Never create one: an empty new database would "verify" and hide that the real one is elsewhere or gone.
            stderr.WriteLine($"{path}: error FS0140: no console database here; give --database, or check Console:DataPath and Audit:Path");
            return 1;
        }
        HistoryVerification result;
        try
        {
            result = HistoryVerifier.Verify(new ConsoleDatabase(path));
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{path}: error FS0141: cannot read the change history: {e.Message}");
            return 1;
        }
        if (result.FirstBad is { } bad)
        {
            stdout.WriteLine($"BROKEN: entry {bad.Id} ({bad.At}): {bad.Problem}");
            stdout.WriteLine($"{result.Verified} entr{(result.Verified == 1 ? "y" : "ies")} before it verified; the last good hash is {result.HeadHash}.");
            return 1;
        }
        stdout.WriteLine($"ok: {result.Verified} entr{(result.Verified == 1 ? "y" : "ies")}, the hash chain verifies; newest hash {result.HeadHash} ({path})");
        return 0;
    }

    /// <summary>console.db where the service keeps it: the service's configuration sources and content root, read as the console reads them.</summary>
    private static string DefaultPath()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        return ConsoleOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, []).DatabasePath;
    }
}
