using System.Globalization;
using System.Text;
using PolicyModel.Decisions;

namespace FilterService.Notifications;

/// <summary>
/// One message for a channel: a single alert or summary, or a digest of several. <see cref="Id"/> is stable for the
/// same content (the incident id, or derived from the member ids), so a receiver can drop a redelivery.
/// </summary>
internal sealed record AlertMessage(string Id, string Subject, string Text, IReadOnlyList<Incident> Incidents, bool IsDigest)
{
    public IReadOnlyList<string> IncidentIds => Incidents.Select(i => i.Id).ToList();

    public AlertSeverity Severity => Incidents.Max(i => i.Severity);

    /// <summary>The console page of each incident, by incident id (issue 19; empty without <c>Console:PublicUrl</c>).</summary>
    public IReadOnlyDictionary<string, string> Pages { get; init; } = new Dictionary<string, string>();

    public static AlertMessage For(Incident incident, AlertOptions options, TimeZoneInfo zone, Func<Incident, string?>? page = null) =>
        new(incident.Id, options.Email.SubjectPrefix + " " + Headline(incident), Describe(incident, zone, page?.Invoke(incident)), [incident], false)
        {
            Pages = PagesOf([incident], page),
        };

    public static AlertMessage Digest(IReadOnlyList<Incident> incidents, AlertOptions options, TimeZoneInfo zone, Func<Incident, string?>? page = null)
    {
        var id = "digest-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            Encoding.UTF8.GetBytes(string.Join('\n', incidents.Select(i => i.Id)))))[..24].ToLowerInvariant();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Digest of {incidents.Count} lower-severity safeguarding alert(s) from the school web filter.\n\n");
        int n = 0;
        foreach (var i in incidents)
        {
            text.Append(CultureInfo.InvariantCulture, $"--- {++n} of {incidents.Count}: {Headline(i)}\n");
            text.Append(Describe(i, zone, page?.Invoke(i))).Append('\n');
        }
        var max = incidents.Max(i => i.Severity);
        return new AlertMessage(id, $"{options.Email.SubjectPrefix} Digest: {incidents.Count} {max.ToString().ToUpperInvariant()}-or-lower alert(s)",
            text.ToString(), incidents, true) { Pages = PagesOf(incidents, page) };
    }

    private static Dictionary<string, string> PagesOf(IReadOnlyList<Incident> incidents, Func<Incident, string?>? page) =>
        page is null ? new() : incidents.Select(i => (i.Id, Url: page(i))).Where(p => p.Url is not null).ToDictionary(p => p.Id, p => p.Url!);

    public static string Headline(Incident i)
    {
        var who = i.User is null ? i.Client : i.DisplayName is null ? i.User : $"{i.DisplayName} ({i.User})";
        var what = i.Category ?? i.Rule;
        var severity = i.Severity.ToString().ToUpperInvariant();
        return i.Kind == IncidentKind.Summary
            ? $"{severity} alert: {i.Count} further attempt(s) by {who} on {i.Host} ({what})"
            : $"{severity} alert: {who} tried {i.Host} ({what})";
    }

    /// <summary>Plain text listing every field the DfE standards ask for: device/IP, individual, time, what was blocked.</summary>
    public static string Describe(Incident i, TimeZoneInfo zone, string? page = null)
    {
        var text = new StringBuilder();
        text.Append(i.Kind == IncidentKind.Summary
            ? $"Further attempts after an earlier alert (incident {i.FoldOf}).\n\n"
            : "Safeguarding alert from the school web filter.\n\n");
        Field(text, "Severity", i.Severity.ToString());
        Field(text, "Time", Time(i.At, zone));
        if (i.Kind == IncidentKind.Summary)
        {
            Field(text, "Further attempts", i.Count.ToString(CultureInfo.InvariantCulture));
            Field(text, "Last attempt", i.LastAt is { } last ? Time(last, zone) : "-");
        }
        Field(text, "User", i.User ?? "(not signed in)");
        Field(text, "Display name", i.DisplayName ?? "-");
        Field(text, "Roles", i.Roles.Length == 0 ? "-" : string.Join(", ", i.Roles));
        Field(text, "Client address", i.Client);
        Field(text, "Network", i.Network ?? "-");
        Field(text, "Method", i.Method);
        Field(text, "URL or host", i.Target);
        Field(text, "Host", i.Host);
        Field(text, "Category", i.Category ?? "-");
        Field(text, "Rule", i.Rule);
        Field(text, "Action", "blocked");
        Field(text, "Reference", i.Reference ?? "-");
        Field(text, "Policy version", i.PolicyVersion ?? "-");
        Field(text, "Incident", i.Id);
        if (page is not null)
        {
            Field(text, "Incident page", page);
        }
        return text.ToString();
    }

    private static string Time(DateTimeOffset at, TimeZoneInfo zone) =>
        $"{TimeZoneInfo.ConvertTime(at, zone).ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture)} ({zone.Id}); "
        + at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void Field(StringBuilder text, string name, string value) =>
        text.Append(name).Append(':').Append(' ', Math.Max(1, 17 - name.Length)).Append(value.ReplaceLineEndings(" ")).Append('\n');
}
