using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Reports;

/// <summary>One section of the policy in plain English: a heading and its sentences (a sentence may be flagged, e.g. an expired exception).</summary>
internal sealed record PlainSection(string Heading, IReadOnlyList<(string Text, bool Flagged)> Sentences);

/// <summary>
/// The policy file read back as sentences for governors: categories, each rule in order, schedules, exceptions with
/// their dates (expired ones flagged), denied users and the default. Read from <c>policy.yaml</c> as written (the
/// loader has already accepted it: this is the live policy's own file). A pupil's account name is never written out:
/// an account holding a pupil role is "a pupil account".
/// </summary>
internal static class PolicyInPlainEnglish
{
    public static IReadOnlyList<PlainSection> Describe(string policyDirectory, Func<string, bool> isPupilAccount, DateTimeOffset now)
    {
        var file = Path.Combine(policyDirectory, "policy.yaml");
        var stream = new YamlStream();
        using (var reader = new StreamReader(file))
        {
            stream.Load(reader);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return [new PlainSection("Policy", [("policy.yaml is empty.", true)])];
        }
        string Person(string user) => isPupilAccount(user) ? "a pupil account" : user;
        var sections = new List<PlainSection>();

        var categories = new List<(string, bool)>();
        foreach (var (key, value) in Map(root, "categories"))
        {
            var statutory = Text(value, "statutory") == "true";
            var description = Text(value, "description");
            categories.Add(($"{key}{(description is null ? "" : ": " + description)}."
                + (statutory ? " Statutory: blocked for everyone, before any rule; no rule or exception can allow it." : "")
                + (Text(value, "alert") is { } alert ? $" An attempt raises a {alert} alert." : ""), false));
        }
        sections.Add(new PlainSection("Categories of sites", categories));

        var rules = new List<(string, bool)>();
        int n = 0;
        foreach (var rule in Seq(root, "rules").OfType<YamlMappingNode>())
        {
            n++;
            rules.Add(($"{n}. {Rule(rule, Person)}", false));
        }
        rules.Add(($"Otherwise: {(Text(root, "default") == "block" ? "blocked" : "allowed")} (the default).", false));
        sections.Add(new PlainSection("Rules, in the order they are tried (the first that applies decides)", rules));

        var schedules = Map(root, "schedules").Select(s => ($"{s.Key}: {Flat(s.Value)}.", false)).ToList();
        if (schedules.Count > 0)
        {
            sections.Add(new PlainSection("Schedules (school local time)", schedules));
        }

        var exceptions = new List<(string, bool)>();
        foreach (var e in Seq(root, "exceptions").OfType<YamlMappingNode>())
        {
            var until = Text(e, "until");
            bool expired = until is not null && DateTime.TryParse(until, CultureInfo.InvariantCulture, DateTimeStyles.None, out var u)
                && (until.Length <= 10 ? u.AddDays(1) : u) < now.DateTime;
            var who = Text(e, "user") is { } user ? Person(user) : Text(e, "role") is { } role ? $"role {role}" : Flat(e.Children.GetValueOrDefault("roles")) is { Length: > 0 } roles ? $"roles {roles}" : "everyone";
            var what = Text(e, "allow") is { } allow ? $"{allow} sites" : Flat(e.Children.GetValueOrDefault("hosts")) is { Length: > 0 } hosts ? $"hosts {hosts}" : "sites";
            exceptions.Add(($"{Text(e, "name")}: {who} may reach {what}"
                + (Text(e, "from") is { } from ? $" from {from}" : "") + $" until {until} (inclusive)"
                + (Text(e, "during") is { } during ? $", during {during}" : "")
                + $"; granted by {Text(e, "granted_by")}: {Text(e, "reason")}." + (expired ? " EXPIRED: remove it." : ""), expired));
        }
        sections.Add(new PlainSection("Exceptions", exceptions.Count > 0 ? exceptions : [("None.", false)]));

        var denied = Seq(root, "denied_users").OfType<YamlMappingNode>()
            .Select(d => ($"{Person(Text(d, "user") ?? "?")} is denied all access: {Text(d, "reason")}" + (Text(d, "by") is { } by ? $" (decided by {by})." : "."), false))
            .ToList();
        if (denied.Count > 0)
        {
            sections.Add(new PlainSection("Denied users", denied));
        }
        return sections;
    }

    private static string Rule(YamlMappingNode rule, Func<string, string> person)
    {
        var action = Text(rule, "action") == "allow" ? "Allow" : "Block";
        var what = new List<string>();
        if (Flat(rule.Children.GetValueOrDefault("category") ?? rule.Children.GetValueOrDefault("categories")) is { Length: > 0 } c)
        {
            what.Add($"{c} sites");
        }
        if (Flat(rule.Children.GetValueOrDefault("hosts")) is { Length: > 0 } h)
        {
            what.Add($"the sites {h}");
        }
        if (Flat(rule.Children.GetValueOrDefault("methods")) is { Length: > 0 } m)
        {
            what.Add($"{m} requests");
        }
        if (Flat(rule.Children.GetValueOrDefault("paths")) is { Length: > 0 } p)
        {
            what.Add($"the pages {p}");
        }
        var who = new List<string>();
        if (Flat(rule.Children.GetValueOrDefault("roles")) is { Length: > 0 } r)
        {
            who.Add($"role {r}");
        }
        if (rule.Children.GetValueOrDefault("users") is YamlSequenceNode users)
        {
            who.Add("users " + string.Join(", ", users.Children.Select(u => person(u.ToString()))));
        }
        var sentence = $"{Text(rule, "name")}: {action} {(what.Count > 0 ? string.Join(", ", what) : "everything")} for {(who.Count > 0 ? string.Join(" and ", who) : "everyone")}";
        if (Flat(rule.Children.GetValueOrDefault("networks")) is { Length: > 0 } nets)
        {
            sentence += $" on {nets}";
        }
        if (Text(rule, "during") is { } during)
        {
            sentence += $", during {during}";
        }
        if (Text(rule, "outside") is { } outside)
        {
            sentence += $", outside {outside}";
        }
        sentence += ".";
        if (Text(rule, "description") is { } description)
        {
            sentence += $" ({description})";
        }
        if (Text(rule, "alert") is { } alert)
        {
            sentence += $" An attempt raises a {alert} alert.";
        }
        return sentence;
    }

    private static string? Text(YamlNode node, string key) =>
        node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    private static IEnumerable<(string Key, YamlNode Value)> Map(YamlMappingNode root, string key) =>
        root.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlMappingNode m
            ? m.Children.Select(c => (c.Key.ToString(), c.Value))
            : [];

    private static IEnumerable<YamlNode> Seq(YamlMappingNode root, string key) =>
        root.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlSequenceNode s ? s.Children : [];

    /// <summary>A node as short text: a scalar as is, a list joined with "or", a mapping as "key value; ...".</summary>
    private static string Flat(YamlNode? node) => node switch
    {
        null => "",
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode seq => string.Join(" or ", seq.Children.Select(Flat)),
        YamlMappingNode map => string.Join("; ", map.Children.Select(c => $"{c.Key} {Flat(c.Value)}")),
        _ => node.ToString(),
    };
}

internal static class YamlExtensions
{
    public static YamlNode? GetValueOrDefault(this IDictionary<YamlNode, YamlNode> children, string key) =>
        children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;
}
