using System.Net;
using FilterService.Admin.Simulator;
using PolicyModel.Decisions;
using PolicyModel.Matching;

namespace FilterService.Admin.Reports;

/// <summary>An address the pack requests for a category, and where it came from.</summary>
internal sealed record TestAddress(string Category, string Address, string Source);

/// <summary>What the live policy did with one test address for one group.</summary>
internal sealed record ProbeResult(TestAddress Address, bool Allowed, string Rule, string? DecidedCategory, DateTimeOffset? Until, bool Answered407);

/// <summary>One group and one category: every address tried and the verdict.</summary>
internal sealed record ReviewCell(ReviewGroup Group, string Category, bool Statutory, IReadOnlyList<ProbeResult> Probes, string? Flag, bool Critical)
{
    public bool Tested => Probes.Count > 0;
    public bool AnyAllowed => Probes.Any(p => p.Allowed && !p.Answered407);
    public string Outcome => !Tested ? "not tested" : Group.MustSignIn ? "sign-in required first" : AnyAllowed
        ? (Probes.All(p => p.Allowed) ? "allowed" : "partly allowed") : "blocked";
}

/// <summary>The annual review pack's checks: every group against every category, decided by the live policy.</summary>
internal sealed record ReviewResult(
    string School,
    DateTimeOffset RanAt,
    DateTimeOffset DecidedAt,
    string PolicyVersion,
    bool Inspection,
    IReadOnlyList<ReviewGroup> Groups,
    IReadOnlyList<(string Name, bool Statutory)> Categories,
    IReadOnlyList<TestAddress> Addresses,
    IReadOnlyList<ReviewCell> Cells,
    IReadOnlyList<string> MustNotReach,
    IReadOnlyList<string> Notes)
{
    public IEnumerable<ReviewCell> Flags => Cells.Where(c => c.Flag is not null);
}

/// <summary>
/// Runs the review pack's checks through the engine the proxy uses (<see cref="PolicySnapshot.Decide"/>, via
/// <see cref="Explainer.AsTheProxyWould"/> so an https address is judged as the proxy judges its CONNECT):
/// for every category, its configured test addresses and a few entries read from its lists (a hashed list's entries
/// cannot be read back: its configured test entries, or the sample's known test host, are used, each confirmed to
/// fall in the category); for every group, each address at the configured moment of the school week.
/// A statutory category reachable by any group is critical; a "pupils must not reach" category reachable by a pupil
/// group is flagged.
/// </summary>
internal static class ReviewPackRunner
{
    /// <summary>Hosts the shipped samples put on their statutory stand-in lists (deploy/samples/default/lists/terrorism.sha256).</summary>
    public static readonly IReadOnlyList<string> KnownTestHosts = ["blocked-terror.test"];

    public static ReviewResult Run(PolicySnapshot policy, ReviewSettings settings, IReadOnlyCollection<string> pupilRoles, bool inspection, DateTimeOffset now)
    {
        var notes = new List<string>();
        var at = DecideAt(policy, settings, now);
        var (networks, outside) = ReviewGroups.Addresses(policy);
        var (groups, untestable) = ReviewGroups.For(policy, pupilRoles, networks, outside, at);
        foreach (var role in untestable)
        {
            notes.Add($"Role '{role}' is held by no account in users.csv and is no network's default role: it was not tested.");
        }
        var mustNotReach = (settings.PupilsMustNotReach ?? [.. ReviewSettings.DefaultMustNotReach])
            .Where(c => policy.Categories.Any(p => p.Name == c)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var c in (settings.PupilsMustNotReach ?? []).Where(c => policy.Categories.All(p => p.Name != c)))
        {
            notes.Add($"Reports:Review:PupilsMustNotReach names '{c}', which the policy does not define.");
        }
        var addresses = new List<TestAddress>();
        foreach (var (category, statutory) in policy.Categories)
        {
            var found = AddressesFor(policy, category, settings, at);
            if (found.Count == 0)
            {
                notes.Add($"No test address for category '{category}'" + (statutory ? " (statutory)" : "")
                    + $": configure Reports:Review:TestAddresses:{category}.");
            }
            addresses.AddRange(found);
        }
        var cells = new List<ReviewCell>();
        foreach (var group in groups)
        {
            foreach (var (category, statutory) in policy.Categories)
            {
                var probes = addresses.Where(a => a.Category == category).Select(a => Probe(policy, group, a, at, inspection)).ToList();
                var cell = new ReviewCell(group, category, statutory, probes, null, false);
                if (cell.AnyAllowed && !group.MustSignIn)
                {
                    if (statutory)
                    {
                        cell = cell with { Flag = $"Statutory category '{category}' is reachable by {group.Name}.", Critical = true };
                    }
                    else if (group.Pupil && mustNotReach.Contains(category, StringComparer.Ordinal))
                    {
                        cell = cell with { Flag = $"Pupils must not reach '{category}', but {group.Name} can." };
                    }
                }
                cells.Add(cell);
            }
        }
        return new ReviewResult(policy.Name ?? "School web filter", now, at, policy.Version, inspection, groups, policy.Categories, addresses, cells,
            mustNotReach, notes);
    }

    /// <summary>The configured moment (default Wednesday 10:30) of the school week containing <paramref name="now"/>, in the policy's zone.</summary>
    public static DateTimeOffset DecideAt(PolicySnapshot policy, ReviewSettings settings, DateTimeOffset now)
    {
        ReviewSettings.TryParseAt(settings.At, out var day, out var time);
        var monday = ReportWeek.Containing(now, policy.TimeZone).Monday;
        var local = monday.PlusDays((int)day - 1).At(new NodaTime.LocalTime(time.Hour, time.Minute));
        return policy.TimeZone.AtLeniently(local).ToDateTimeOffset();
    }

    private static ProbeResult Probe(PolicySnapshot policy, ReviewGroup group, TestAddress address, DateTimeOffset at, bool inspection)
    {
        var asked = Request(group.Client, group.User, address.Address, at);
        var (decided, _) = Explainer.AsTheProxyWould(policy, asked, inspection);
        var d = policy.Decide(decided);
        return new ProbeResult(address, d.Action == DecisionAction.Allow, d.Rule, d.Category, d.Until, group.MustSignIn);
    }

    /// <summary>A host name is asked as <c>https://host/</c>; a URL as itself.</summary>
    private static FilterRequest Request(IPAddress client, string? user, string address, DateTimeOffset at)
    {
        var url = address.Contains("://", StringComparison.Ordinal) ? new Uri(address) : new Uri("https://" + address + "/");
        return new FilterRequest(client, user, "GET", url.Scheme, HostName.Normalize(url.IdnHost) ?? url.IdnHost, url.Port, url.PathAndQuery, at);
    }

    private static List<TestAddress> AddressesFor(PolicySnapshot policy, string category, ReviewSettings settings, DateTimeOffset at)
    {
        var result = new List<TestAddress>();
        bool InCategory(string address)
        {
            var probe = Request(policy.ClientRanges.Length > 0 ? policy.ClientRanges[0].BaseAddress : IPAddress.Loopback, null, address, at);
            return policy.CategoriesOf(probe.Host, probe.PathAndQuery).Contains(category, StringComparer.Ordinal);
        }
        foreach (var a in settings.TestAddresses.GetValueOrDefault(category) ?? [])
        {
            result.Add(new TestAddress(category, a, "configured"));
        }
        foreach (var list in policy.Lists.Where(l => l.Category == category))
        {
            if (list.Format == "hashed")
            {
                foreach (var host in KnownTestHosts.Where(h => result.All(r => r.Address != h) && InCategory(h)))
                {
                    result.Add(new TestAddress(category, host, "known test entry of " + list.Path));
                }
                continue;
            }
            foreach (var entry in Sample(policy, list, settings.SamplesPerList))
            {
                if (result.All(r => r.Address != entry))
                {
                    result.Add(new TestAddress(category, entry, "from " + list.Path));
                }
            }
        }
        return result;
    }

    /// <summary>The first entries of a list file that name a site (a host, or <c>http://host/path</c> for a URL entry).</summary>
    private static IEnumerable<string> Sample(PolicySnapshot policy, ListSummary list, int count)
    {
        ParsedList parsed;
        try
        {
            parsed = ListReader.Read(Path.GetFullPath(list.Path, policy.Directory), list.Path, Enum.TryParse<ListFormat>(list.Format, ignoreCase: true, out var f) ? f : ListFormat.Auto);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        return parsed.Entries.Where(e => e.Kind != EntryKind.Hash)
            .Select(e => e.Kind == EntryKind.UrlPrefix ? "http://" + e.Value : e.Value)
            .Take(count).ToList();
    }
}
