using System.CommandLine;
using FilterService.Policy;
using PolicyModel.Documents;
using PolicyModel.Files;

namespace FilterService.Cli;

/// <summary>
/// <c>lists confirm --policy DIR --list PATH --reason TEXT</c>: the operator's explicit, recorded consent to a statutory
/// list shrinking. It loads the policy as the service would, then records in <c>DIR/statutory-confirmations.json</c>
/// the SHA-256 of the exact bytes of that list now on disk, its entry count, the reason, the account and the time.
/// The service accepts the shrink only for those bytes: a later truncated download of the same list is refused again.
/// For a list with a feed whose last download was refused (<c>PATH.refused</c>), it confirms those refused bytes: the
/// next update that downloads them installs them. <c>lists update</c> (ListsUpdateCommand.cs) fetches every feed once.
/// </summary>
internal static partial class ListsCommand
{
    public static Command Create(TextWriter stdout, TimeProvider time)
    {
        var policy = new Option<DirectoryInfo>("--policy") { Description = "The policy directory (holding policy.yaml)", Required = true };
        var list = new Option<string>("--list") { Description = "The statutory list as policy.yaml names it, e.g. lists/terrorism.sha256", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why the list may shrink (recorded and logged)", Required = true };
        var confirm = new Command("confirm", "Confirm that a statutory list may have fewer entries than at its last good load") { policy, list, reason };
        confirm.SetAction(parse => Confirm(parse.GetValue(policy)!.FullName, parse.GetValue(list)!, parse.GetValue(reason)!, stdout, time));
        return new Command("lists", "Manage statutory lists and list feeds") { confirm, CreateUpdate(stdout, time) };
    }

    private static int Confirm(string directory, string list, string reason, TextWriter stdout, TimeProvider time)
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Trim().Length < 10)
        {
            stdout.WriteLine("error FS0108: --reason must say why the list may shrink (at least 10 characters); it is recorded and logged");
            return 1;
        }
        var result = PolicyLoader.Load(directory);
        if (result.Snapshot is not { } snapshot)
        {
            foreach (var d in result.Errors)
            {
                stdout.WriteLine(d);
            }
            stdout.WriteLine("error FS0108: the policy does not load, so there is nothing to confirm; fix the errors above first");
            return 1;
        }
        var statutory = snapshot.Categories.Where(c => c.Statutory).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var summary = snapshot.Lists.FirstOrDefault(l => l.Path == list && statutory.Contains(l.Category));
        if (summary is null)
        {
            var names = snapshot.Lists.Where(l => statutory.Contains(l.Category)).Select(l => l.Path);
            stdout.WriteLine($"error FS0108: '{list}' is not a statutory list of this policy (statutory lists: {string.Join(", ", names)})");
            return 1;
        }
        var refused = Path.Combine(directory, list) + Feeds.FeedInstaller.RefusedSuffix;
        if (snapshot.Feeds.FirstOrDefault(f => f.ListPath == list) is { } feed && (File.Exists(refused) || Directory.Exists(refused)))
        {
            // Issue 21: the refused download is what the operator has looked at and confirms.
            var entries = PolicyModel.Matching.ListReader.Read(refused, list, feed.StoredFormat, feed.Exact, PolicyFiles.MaxListBytes).Entries.Count;
            var refusedDigest = ListConfirmations.Digest(refused);
            ListConfirmations.Append(directory, new ListConfirmation(list, refusedDigest, entries, reason.Trim(), Environment.UserName, time.GetUtcNow()));
            stdout.WriteLine($"confirmed: the refused download of {list} ({summary.Category}) with {entries} entries, sha256 {refusedDigest}; recorded in {ListConfirmations.FileName}. "
                + "The feed's next update (or 'lists update') installs these exact bytes.");
            return 0;
        }
        var digest = ListConfirmations.Digest(Path.Combine(directory, list));
        var confirmation = new ListConfirmation(list, digest, summary.Entries, reason.Trim(), Environment.UserName, time.GetUtcNow());
        ListConfirmations.Append(directory, confirmation);
        stdout.WriteLine($"confirmed: {list} ({summary.Category}) with {summary.Entries} entries, sha256 {digest}; recorded in {ListConfirmations.FileName}. The service accepts these exact bytes at its next reload.");
        return 0;
    }
}
