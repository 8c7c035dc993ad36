using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using FilterService.Audit;
using FilterService.Hosting;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace FilterService.Tests.Admin.Reports;

/// <summary>
/// Audit records for the report tests, written by the real audit writer (<see cref="AuditLog"/>) from decisions the real
/// engine made on the cherry-oak sample, and the tables the report's HTML carries (<c>data-key</c>, <c>data-count</c>).
/// </summary>
internal static partial class ReportTestData
{
    public static readonly string[] Hosts =
    [
        "www.facebook.com", "0-edge-chat.facebook.com", "youtube.com", "blocked-terror.test", "mask.icloud.com", "01usevpn.website",
        "www.bbc.co.uk", "example.org", "en.wikipedia.org",
    ];

    /// <summary>(client, user) pairs: pupil-lan device, staff signed in on the staffroom, guest-wifi device, a marketing account, loopback.</summary>
    public static readonly (string Client, string? User)[] Clients =
    [
        ("10.40.1.7", null), ("10.40.2.9", "pupil1"), ("10.20.0.5", "staff1"), ("10.50.3.3", null), ("10.30.4.4", "marketing1"), ("127.0.0.1", null),
    ];

    /// <summary>Writes <paramref name="count"/> decisions (seeded) at times spread over <c>[from - 1 day, until + 1 day)</c> and returns when they are on disk.</summary>
    public static void Write(string auditDirectory, DateTimeOffset from, DateTimeOffset until, int count, int seed)
    {
        var policy = PolicyLoader.Load(RepoPaths.Sample("default")).Snapshot!;
        var random = new Random(seed);
        var span = (until - from) + TimeSpan.FromDays(2);
        using var log = new AuditLog(new AuditOptions { Path = auditDirectory, CompressRolled = false },
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AuditLog>.Instance, TimeZoneInfo.Utc);
        var times = Enumerable.Range(0, count).Select(_ => from - TimeSpan.FromDays(1) + span * random.NextDouble()).Order().ToList();
        // The edges: the last instant before the week, its first instant and its last millisecond.
        times.InsertRange(0, [from - TimeSpan.FromMilliseconds(1), from, until - TimeSpan.FromMilliseconds(1), until]);
        foreach (var at in times)
        {
            var (client, user) = Clients[random.Next(Clients.Length)];
            var host = Hosts[random.Next(Hosts.Length)];
            var request = new FilterRequest(IPAddress.Parse(client), user, "CONNECT", "https", host, 443, "", at);
            var d = policy.Decide(request);
            log.OnDecision(new DecisionRecord(at, request.Client, d.Identity.User, d.Identity.Roles, d.Identity.Network, "CONNECT", host + ":443",
                d.Action, d.Rule, d.Category, d.IsBlocked ? 403 : 200, 100, 200, TimeSpan.FromMilliseconds(3), "ref" + random.Next(),
                policy.Version, d));
        }
    }

    /// <summary>The rows of the table with <paramref name="id"/>: key and count, in order.</summary>
    public static List<(string Key, long Count)> Table(string html, string id)
    {
        var start = html.IndexOf($"id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no element {id} in the report");
        if (html.LastIndexOf('<', start) is var open && html.AsSpan(open).StartsWith("<p"))
        {
            return []; // the sentence shown instead of an empty table
        }
        var end = html.IndexOf("</table>", start, StringComparison.Ordinal);
        return Row().Matches(html[start..end]).Select(m => (WebUtility.HtmlDecode(m.Groups[1].Value), long.Parse(m.Groups[2].Value))).ToList();
    }

    /// <summary>Counts by key, largest first, ties by key: the order the report promises.</summary>
    public static List<(string Key, long Count)> Tally(IEnumerable<string> keys) =>
        keys.GroupBy(k => k, StringComparer.Ordinal).Select(g => (g.Key, (long)g.Count()))
            .OrderByDescending(t => t.Item2).ThenBy(t => t.Key, StringComparer.Ordinal).ToList();

    [GeneratedRegex("<tr data-key=\"([^\"]*)\" data-count=\"(\\d+)\">")]
    private static partial Regex Row();
}
