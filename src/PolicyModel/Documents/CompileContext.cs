using System.Collections.Frozen;
using System.Collections.Immutable;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using PolicyModel.Matching;
using PolicyModel.Schedules;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// What the section compilers share while one policy loads: the YAML and its diagnostics, the file reader (whose hash
/// is the version), and the names compiled so far, with the lookups a later section makes of an earlier one (a rule
/// names roles, networks, categories, schedules and users). Sections run in document order; each fills its part.
/// Not thread-safe: one context per load.
/// </summary>
internal sealed class CompileContext(YamlSource source, PolicyFileReader files, DateTimeOffset now)
{
    public YamlSource Src { get; } = source;

    public PolicyFileReader Files { get; } = files;

    public DiagnosticBag Diagnostics => Src.Diagnostics;

    /// <summary>The policy directory the files are relative to.</summary>
    public string Directory => Files.Directory;

    /// <summary>When the load runs (for "this exception has expired" warnings).</summary>
    public DateTimeOffset Now { get; } = now;

    public DateTimeZone Zone { get; set; } = DateTimeZone.Utc;

    public List<string> Roles { get; } = new();

    public Dictionary<string, NetworkDef> Networks { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, CategoryDef> Categories { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Schedule?> Schedules { get; } = new(StringComparer.Ordinal);

    public UserDirectory Users { get; set; } = UserDirectory.Empty;

    /// <summary>Whether <c>identity.directory</c> is there: then any user name may be a person the directory knows.</summary>
    public bool HasDirectory { get; set; }

    public DomainMatcher Matcher { get; set; } = DomainMatcher.Empty;

    /// <summary>The feeds of the lists, in policy order.</summary>
    public List<FeedSpec> Feeds { get; } = new();

    public int? RoleIndex(string role, YamlNode at)
    {
        var index = Roles.IndexOf(role);
        if (index < 0)
        {
            Src.Error(at, Messages.UnknownRole, role, Suggestions.DidYouMean(role, Roles));
            return null;
        }

        return index;
    }

    public ulong RoleMask(YamlNode? node, string what)
    {
        var mask = 0UL;
        foreach (var (role, at) in Src.ScalarList(node, what))
        {
            if (RoleIndex(role, at) is int i)
            {
                mask |= 1UL << i;
            }
        }

        return mask;
    }

    public ulong NetworkMask(YamlNode? node, string what = "networks")
    {
        var mask = 0UL;
        foreach (var (name, at) in Src.ScalarList(node, what))
        {
            if (Networks.TryGetValue(name, out var n))
            {
                mask |= 1UL << n.Index;
            }
            else
            {
                Src.Error(at, Messages.UnknownNetwork, name, Suggestions.DidYouMean(name, Networks.Keys));
            }
        }

        return mask;
    }

    public ulong CategoryMask(IEnumerable<(string Value, YamlNode Node)> names)
    {
        var mask = 0UL;
        foreach (var (name, at) in names)
        {
            if (Categories.TryGetValue(name, out var c))
            {
                mask |= 1UL << c.Index;
            }
            else
            {
                Src.Error(at, Messages.UnknownCategory, name, Suggestions.DidYouMean(name, Categories.Keys));
            }
        }

        return mask;
    }

    public ulong StatutoryMask => Categories.Values.Where(c => c.Statutory).Aggregate(0UL, (m, c) => m | (1UL << c.Index));

    public string StatutoryName(ulong mask) =>
        Categories.Values.First(c => c.Statutory && (mask & (1UL << c.Index)) != 0).Name;

    public Schedule? ScheduleRef(YamlNode? node, string what)
    {
        if (node is null || Src.Scalar(node, what) is not { } name)
        {
            return null;
        }

        if (Schedules.TryGetValue(name, out var schedule))
        {
            return schedule;
        }

        Src.Error(node, Messages.UnknownSchedule, name, Suggestions.DidYouMean(name, Schedules.Keys));
        return null;
    }

    public bool CheckUser(string user, YamlNode at)
    {
        // With a directory, people are known only when they sign in: any name may be theirs.
        if (Users.Find(user) is not null || HasDirectory)
        {
            return true;
        }

        Src.Error(at, Messages.UnknownUser, user, Suggestions.DidYouMean(user, Users.Users.Select(u => u.UserName)));
        return false;
    }

    public FrozenSet<string>? UserSet(YamlNode? node, string what)
    {
        if (node is null)
        {
            return null;
        }

        var users = Src.ScalarList(node, what).Where(u => CheckUser(u.Value, u.Node)).Select(u => u.Value);
        return users.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    public DecisionAction? Action(YamlNode? node, string what)
    {
        switch (Src.Scalar(node, what))
        {
            case null: return null;
            case "allow": return DecisionAction.Allow;
            case "block": return DecisionAction.Block;
            case var other:
                Src.Error(node!, Messages.BadAction, what, other, Suggestions.DidYouMean(other, ["allow", "block"]));
                return null;
        }
    }

    public AlertSeverity Severity(YamlNode node)
    {
        switch (Src.Scalar(node, "alert")?.ToLowerInvariant())
        {
            case null: return AlertSeverity.None;
            case "false" or "no" or "none": return AlertSeverity.None;
            case "true" or "yes" or "medium": return AlertSeverity.Medium;
            case "low": return AlertSeverity.Low;
            case "high": return AlertSeverity.High;
            case var other:
                Src.Error(node, Messages.BadAlert, other);
                return AlertSeverity.None;
        }
    }

    /// <summary>
    /// The host patterns of a rule or exception. When <paramref name="allowedBy"/> names an allowing rule or exception,
    /// a pattern whose domain (or a parent of it) is in a statutory list, hashed lists included, is an error (PM0407):
    /// statutory content is decided first and cannot be allowed, and a policy that says otherwise is wrong.
    /// </summary>
    public ImmutableArray<HostPattern> Hosts(YamlNode? node, string? allowedBy = null)
    {
        var result = ImmutableArray.CreateBuilder<HostPattern>();
        foreach (var (text, at) in Src.ScalarList(node, "hosts"))
        {
            if (HostPattern.Parse(text, out var problem) is not { } pattern)
            {
                if (problem == "not a host name")
                {
                    Src.Error(at, Messages.BadHostPattern, text);
                }
                else
                {
                    Src.Error(at, Messages.BadHostPatternWhy, text, problem);
                }

                continue;
            }

            if (allowedBy is not null && (Matcher.Match(pattern.Domain, ReadOnlySpan<char>.Empty) & StatutoryMask) is var statutory and not 0)
            {
                Src.Error(at, Messages.AllowsStatutoryHost, allowedBy, text, StatutoryName(statutory));
            }

            result.Add(pattern);
        }

        return result.ToImmutable();
    }
}
