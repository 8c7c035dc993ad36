using System.CommandLine;
using PolicyModel.Documents;

namespace FilterService.Cli;

/// <summary><c>check --policy DIR</c>: validate a policy; print a summary (exit 0) or every diagnostic (exit 1).</summary>
internal static class CheckCommand
{
    public static Command Create(TextWriter stdout)
    {
        var policy = new Option<DirectoryInfo>("--policy") { Description = "The policy directory (holding policy.yaml)", Required = true };
        var inspectionCa = new Option<FileInfo>("--inspection-ca")
        {
            Description = "The inspection CA certificate the service will use (Proxy:InspectionCaCertificate); without it, check warns about what cannot be enforced over HTTPS",
        };
        inspectionCa.AcceptExistingOnly();
        var command = new Command("check", "Validate a policy directory and summarise it") { policy, inspectionCa };
        command.SetAction(parse => Run(parse.GetValue(policy)!.FullName, parse.GetValue(inspectionCa) is not null, stdout));
        return command;
    }

    private static int Run(string directory, bool inspectionCa, TextWriter stdout)
    {
        var result = PolicyLoader.Load(directory);
        foreach (var d in result.Diagnostics)
        {
            stdout.WriteLine(d);
        }

        if (result.Snapshot is not { } snapshot)
        {
            var errors = result.Errors.Count();
            stdout.WriteLine($"policy rejected: {errors} error{(errors == 1 ? "" : "s")}");
            return 1;
        }

        if (!inspectionCa)
        {
            foreach (var w in Policy.InspectionWarnings.For(snapshot))
            {
                stdout.WriteLine(w);
            }
        }

        stdout.WriteLine($"policy OK: {directory.TrimEnd(Path.DirectorySeparatorChar)} (version {snapshot.Version}{(snapshot.Name is null ? "" : ", " + snapshot.Name)})");
        stdout.WriteLine($"  time zone {snapshot.TimeZone.Id}; {snapshot.RuleCount} rules; {snapshot.ExceptionCount} exceptions; {snapshot.UserCount} users; proxy auth {snapshot.ProxyAuth.ToString().ToLowerInvariant()}");
        stdout.WriteLine($"  rules (first match wins): {string.Join(", ", snapshot.RuleNames)}");
        if (snapshot.SignInNetworks is { Count: > 0 } signIn)
        {
            stdout.WriteLine($"  sign-in required on networks: {string.Join(", ", signIn)} (identity.required_on)");
        }
        if (snapshot.SafeSearch.Roles is { Count: > 0 } locked)
        {
            stdout.WriteLine($"  safe search locked for roles: {string.Join(", ", locked)}; YouTube restricted mode {snapshot.SafeSearch.YouTube.ToString().ToLowerInvariant()}");
        }
        var inspection = snapshot.Inspection;
        stdout.WriteLine($"  never inspected: {inspection.NeverListEntries:N0} domains in {string.Join(", ", inspection.NeverLists.DefaultIfEmpty("no list"))}"
            + " (inspection.never_inspect; statutory blocks still show the block page)");
        if (snapshot.TenantRestrictions.Configured)
        {
            var roles = snapshot.TenantRestrictions.Roles is { Count: > 0 } r ? "roles " + string.Join(", ", r) : "everyone";
            stdout.WriteLine($"  tenant restrictions: {string.Join(", ", snapshot.TenantRestrictions.Providers)} for {roles}{(inspectionCa ? "" : " (not applied without an inspection CA)")}");
        }
        if (snapshot.RefuseBareIpConnect)
        {
            stdout.WriteLine("  tunnels to IP addresses refused (connect.bare_ip: block)");
        }
        foreach (var (name, statutory) in snapshot.Categories)
        {
            var lists = snapshot.Lists.Where(l => l.Category == name).ToList();
            stdout.WriteLine($"  category {name}{(statutory ? " (statutory)" : "")}: {lists.Sum(l => l.Entries):N0} entries in {lists.Count} list{(lists.Count == 1 ? "" : "s")}");
            foreach (var list in lists)
            {
                var skipped = list.SkippedLines > 0 ? $", {list.SkippedLines:N0} lines skipped" : "";
                stdout.WriteLine($"    {list.Path} ({list.Format}): {list.Entries:N0} entries{skipped}");
            }
        }

        return 0;
    }
}
