using FilterService.Proxy;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Matching;

namespace FilterService.Admin.Simulator;

/// <summary>
/// An <see cref="Explanation"/> in words: the headline, the labelled facts and the trace that <c>explain</c> prints and
/// the console's simulator shows, built once here so the two never say different things.
/// </summary>
internal static class ExplanationText
{
    /// <summary><c>BLOCKED  GET https://host/path</c>: the answer and the request the proxy decided.</summary>
    public static string Headline(Explanation e) =>
        $"{(e.Decision.IsBlocked ? "BLOCKED" : "ALLOWED")}  {e.Decided.Method} {Shown(e.Decided)}";

    /// <summary>The facts printed before the trace, in order: how it was decided, why, who, when, what changes it.</summary>
    public static IReadOnlyList<(string Label, string Value)> Facts(Explanation e)
    {
        var facts = new List<(string, string)>();
        var (asked, request, d, zone) = (e.Asked, e.Decided, e.Decision, e.Zone);
        var judged = UrlPath.Canonicalize(request.PathAndQuery);
        if (judged != request.PathAndQuery)
        {
            facts.Add(("path", $"judged as {judged} (the canonical form that lists and paths: rules match; sent as written)"));
        }
        var where = (e.On, asked.PathAndQuery.Length == 0, asked.Scheme) switch
        {
            (DecidedOn.ConnectHost, true, _) => "the host, at CONNECT",
            (DecidedOn.ConnectHost, false, _) when !e.Inspection =>
                $"the host, at CONNECT: with no inspection CA the proxy sees only {Shown(request)} for {asked.Method} {Shown(asked)}; rules with methods or paths are not applied",
            (DecidedOn.ConnectHost, false, _) =>
                $"the host, at CONNECT: {request.Host} is not inspected (see 'inspected'), so the proxy sees only {Shown(request)} for {asked.Method} {Shown(asked)}",
            (DecidedOn.Url, _, "https") => "the full URL, inside an inspected tunnel (see 'inspected')",
            _ => "the full URL (plain http)",
        };
        facts.Add(("decided on", where));
        if (e.Inspected is { } t)
        {
            facts.Add(("inspected", ExplainInspection.Text(t, e.Inspection)));
        }
        if (e.Answered is { } verdict)
        {
            facts.Add(("answered", verdict == ConnectFlow.ConnectVerdict.BlockPage
                ? "block page inside TLS (inspection CA configured)"
                : !e.Inspection
                    ? "403 to the CONNECT (no inspection CA)"
                    : e.Inspected is { Reason: InspectionReason.NeverInspect }
                        ? "403 to the CONNECT (never_inspect: the tunnel is not decrypted, so no block page)"
                        : "403 to the CONNECT (an IP address: no name to show a block page under)"));
        }
        facts.Add(("reason", d.Reason));
        facts.Add(("decided", $"{d.Rule}{(d.Category is null ? "" : $" (category {d.Category})")}"));
        if (d.List is not null)
        {
            facts.Add(("matched", $"{d.Entry} in {d.List}"));
        }

        var who = d.Identity.User is null ? "no signed-in user" : $"{d.Identity.User}{(d.Identity.DisplayName is null ? "" : $" ({d.Identity.DisplayName})")}";
        var roles = d.Identity.Roles.IsDefaultOrEmpty ? "no roles" : "roles " + string.Join(", ", d.Identity.Roles);
        facts.Add(("who", $"{who}, {roles}, network {d.Identity.Network ?? "(none)"}, address {request.Client}"));
        var when = Instant.FromDateTimeOffset(request.At).InZone(zone);
        facts.Add(("at", $"{when:uuuu-MM-dd HH:mm:ss} {zone.Id} ({when.ToInstant():uuuu-MM-dd'T'HH:mm:ss'Z'})"));
        if (d.Until is { } until)
        {
            var local = Instant.FromDateTimeOffset(until).InZone(zone);
            facts.Add(("changes", $"{(d.IsBlocked ? "allowed" : "blocked")} from {local:dddd uuuu-MM-dd HH:mm} {zone.Id}"));
        }
        else
        {
            facts.Add(("changes", "never (no schedule or exception affects this answer)"));
        }

        facts.Add(("alert", d.Alert ? d.Severity.ToString().ToLowerInvariant() : "no"));
        return facts;
    }

    /// <summary>The facts printed after the trace: where a safe-search connection goes, and where each of the user's roles came from.</summary>
    public static IReadOnlyList<(string Label, string Value)> After(Explanation e)
    {
        var facts = new List<(string, string)>();
        if (e.SafeSearch is { } safe)
        {
            facts.Add(("safe search", $"connected to {safe.Host} ({safe.Provider}), not {e.Decided.Host}'s own address"
                + (safe.YouTube is { } yt ? $"; inspected requests also carry YouTube-Restrict: {yt}" : "")));
        }
        foreach (var (role, source) in e.RoleSources ?? [])
        {
            facts.Add(("role", $"{role} from {source}"));
        }
        return facts;
    }

    /// <summary>The whole explanation as <c>explain</c> prints it.</summary>
    public static void Write(TextWriter o, Explanation e)
    {
        o.WriteLine(Headline(e));
        foreach (var (label, value) in Facts(e))
        {
            o.WriteLine(Fact(label, value));
        }
        o.WriteLine("  trace:");
        foreach (var step in e.Decision.Trace)
        {
            o.WriteLine($"    {(step.Matched ? "->" : "  ")} {step.Step}: {step.Detail}");
        }
        foreach (var (label, value) in After(e))
        {
            o.WriteLine(Fact(label, value));
        }
    }

    /// <summary>The request as a person writes it: <c>host:port</c> for a tunnel, else the URL.</summary>
    public static string Shown(FilterRequest r) =>
        r.PathAndQuery.Length == 0 ? Authority.Format(r.Host, r.Port) : $"{r.Scheme}://{r.Host}{r.PathAndQuery}";

    // "  reason:   ...": labels padded so short ones line up; long ones ("decided on") take one space.
    private static string Fact(string label, string value) => $"  {(label + ":").PadRight(9)} {value}";
}
