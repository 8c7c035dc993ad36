using System.CommandLine;
using FilterService.Feeds;
using FilterService.Policy;
using FilterService.Settings;
using PolicyModel.Documents;
using PolicyModel.Files;
using PolicyModel.Matching;

namespace FilterService.Cli;

/// <summary>
/// <c>lists update --policy DIR [--dry-run]</c>: fetch and check every feed of the policy once, with the service's
/// fetcher and checks (verification, parsing, the statutory shrink guard), for the ICT manager and for cron. It writes
/// each good list beside the live one (keeping <c>.previous</c>) and then loads the whole policy; if that fails, every
/// list it wrote is rolled back. A running service picks the files up as any edit (watch or SIGHUP).
/// <c>--dry-run</c> prints what would change (entries added and removed, per list) and writes nothing.
/// Exit codes: 0 every feed is current (or would be updated), 1 a feed was refused or failed (the others are still
/// written) or the policy does not load with the new lists, 2 no policy or no feeds.
/// </summary>
internal static partial class ListsCommand
{
    private static Command CreateUpdate(TextWriter stdout, TimeProvider time)
    {
        var policy = new Option<DirectoryInfo>("--policy") { Description = "The policy directory (holding policy.yaml)", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Fetch and check, print what would change (added, removed per list), write nothing" };
        var trustedCa = new Option<FileInfo?>("--trusted-ca") { Description = "A PEM file of CA certificates to trust for feed servers instead of the system store (Feeds:TrustedCaFile)" };
        var credentials = new Option<FileInfo?>("--credentials-file") { Description = "A JSON secrets file of feed credentials (Feeds:CredentialsFile)" };
        var config = new Option<FileInfo?>("--config")
        {
            Description = "The service's settings file (appsettings.json) to read Policy:StatutoryShrinkFraction and Policy:StatutoryMinEntries from; default: the service's own configuration sources, from the current directory",
        };
        var update = new Command("update", "Fetch and check every list feed of the policy once") { policy, dryRun, trustedCa, credentials, config };
        update.SetAction((parse, token) => ConfiguredGuard(parse.GetValue(config), stdout) is { } guard
            ? UpdateAsync(parse.GetValue(policy)!.FullName, parse.GetValue(dryRun), parse.GetValue(trustedCa)?.FullName,
                parse.GetValue(credentials)?.FullName, guard, stdout, time, token)
            : Task.FromResult(2));
        return update;
    }

    /// <summary>
    /// The shrink guard as the service applies it: <c>Policy:StatutoryShrinkFraction</c> and
    /// <c>Policy:StatutoryMinEntries</c> from the service's settings, so a cron job refuses exactly what the service
    /// would. The count it compares with is the live list's (the service's last good count is in its audit directory).
    /// Null, with the problems written, when the settings are not usable.
    /// </summary>
    internal static StatutoryGuard? ConfiguredGuard(FileInfo? settings, TextWriter output)
    {
        if (settings is { Exists: false })
        {
            output.WriteLine($"--config: file '{settings.FullName}' does not exist");
            return null;
        }
        var options = new PolicyOptions();
        var problems = new List<string>();
        ServiceOptions.BindSection(ExplainCommand.ServiceConfiguration(settings), "Policy", options, problems);
        ServiceOptions.CheckStatutoryGuard(options, problems);
        foreach (var p in problems)
        {
            output.WriteLine("config: error FS0001: " + p);
        }
        return problems.Count == 0 ? new StatutoryGuard(options.StatutoryShrinkFraction, options.StatutoryMinEntries, null) : null;
    }

    private static async Task<int> UpdateAsync(string directory, bool dryRun, string? trustedCa, string? credentialsFile, StatutoryGuard guard, TextWriter stdout, TimeProvider time, CancellationToken token)
    {
        var loaded = PolicyLoader.Load(directory, time);
        if (loaded.Feeds.Count == 0)
        {
            foreach (var d in loaded.Errors)
            {
                stdout.WriteLine(d);
            }
            stdout.WriteLine($"error FS0121: no list in {directory}/policy.yaml has a feed ('source:'), so there is nothing to update");
            return 2;
        }
        var options = new FeedOptions { TrustedCaFile = trustedCa, CredentialsFile = credentialsFile, Retries = 2, RetryDelay = TimeSpan.FromSeconds(2) };
        using var fetcher = new FeedFetcher(options, time);
        var installed = new List<string>();
        int failed = 0;
        foreach (var feed in loaded.Feeds)
        {
            var live = Path.GetFullPath(Path.Combine(directory, feed.ListPath));
            var check = await fetcher.FetchAsync(feed, directory, null, token);
            ParsedList? current = null;
            if (check.Ok && (File.Exists(live) || Directory.Exists(live)))
            {
                try
                {
                    current = ListReader.Read(live, feed.ListPath, feed.StoredFormat, feed.Exact, PolicyFiles.MaxListBytes);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    current = null; // a live list that cannot be read is replaced, all of it "added"
                }
            }
            var problem = check.Ok ? FeedUpdater.StatutoryShrink(feed, check, current?.Entries.Count, guard, directory) : check.Message;
            if (problem is not null)
            {
                failed++;
                stdout.WriteLine($"{feed.ListPath}: refused ({(check.Ok ? FeedFailure.Shrunk : check.Failure!.Value).Label()}): {problem}");
                if (check.Staged is { } staged)
                {
                    if (dryRun)
                    {
                        FeedInstaller.Delete(staged);
                    }
                    else
                    {
                        FeedInstaller.Refuse(live, staged);
                    }
                }
                continue;
            }
            var (added, removed) = Compare(current, check.Parsed!);
            var what = $"{check.Parsed!.Entries.Count} entries (+{added} -{removed}), version {check.Version}";
            if (dryRun)
            {
                FeedInstaller.Delete(check.Staged!);
                stdout.WriteLine($"{feed.ListPath}: would update: {what}");
                continue;
            }
            FeedInstaller.Install(live, check.Staged!);
            installed.Add(live);
            stdout.WriteLine($"{feed.ListPath}: updated: {what}");
        }
        if (installed.Count > 0)
        {
            var after = PolicyLoader.Load(directory, time);
            if (!after.Succeeded)
            {
                foreach (var d in after.Errors)
                {
                    stdout.WriteLine(d);
                }
                foreach (var live in installed)
                {
                    FeedInstaller.RollBack(live);
                }
                stdout.WriteLine($"error FS0121: the policy does not load with the new lists; the {installed.Count} list(s) written were rolled back (kept as .refused)");
                return 1;
            }
            stdout.WriteLine($"policy OK with the new lists (version {after.Snapshot!.Version}); a running service loads them at its next reload (watch or SIGHUP)");
        }
        return failed > 0 ? 1 : 0;
    }

    /// <summary>Entries added and removed, compared by kind and normalised value.</summary>
    private static (int Added, int Removed) Compare(ParsedList? before, ParsedList after)
    {
        var old = (before?.Entries ?? []).Select(e => (e.Kind, e.Value)).ToHashSet();
        var now = after.Entries.Select(e => (e.Kind, e.Value)).ToHashSet();
        return (now.Count(e => !old.Contains(e)), old.Count(e => !now.Contains(e)));
    }
}
