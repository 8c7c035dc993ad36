using System.Globalization;
using FilterService.Admin.Decisions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Data.Sqlite;

namespace FilterService.Admin.Pages.Decisions;

/// <summary>
/// The decision search (<c>/decisions</c>) and the live view (<c>/decisions/live</c>): filters from the query string
/// (GET only: nothing here changes anything), one page newest first from the decision index, each person shown through
/// <see cref="PupilNames.Show"/> (only the <c>dsl</c> role sees pupils' names). Read policy (the console's folder
/// convention, <see cref="ConsolePolicies.Read"/>).
/// </summary>
internal abstract class DecisionsPageModel(DecisionSearch search, PupilNames names, DecisionIndexStatus status) : PageModel
{
    [BindProperty(Name = "user", SupportsGet = true)] public string? Person { get; set; }
    [BindProperty(Name = "client", SupportsGet = true)] public string? Client { get; set; }
    [BindProperty(Name = "host", SupportsGet = true)] public string? HostName { get; set; }
    [BindProperty(Name = "category", SupportsGet = true)] public string? Category { get; set; }
    [BindProperty(Name = "action", SupportsGet = true)] public string? Action { get; set; }
    [BindProperty(Name = "from", SupportsGet = true)] public string? From { get; set; }
    [BindProperty(Name = "until", SupportsGet = true)] public string? Until { get; set; }
    [BindProperty(Name = "before", SupportsGet = true)] public string? Before { get; set; }

    public IReadOnlyList<ShownDecision> Rows { get; private set; } = [];
    public string? NextUrl { get; private set; }
    public List<string> Problems { get; } = [];
    public string IndexState { get; private set; } = "";

    /// <summary>Whether this is the live view (newest first, refreshed every few seconds, no paging).</summary>
    public abstract bool Live { get; }

    public void OnGet()
    {
        var query = new DecisionQuery
        {
            User = Person,
            Client = Client,
            Host = HostName,
            Category = Category,
            Blocked = Action switch { "block" => true, "allow" => false, _ => null },
            From = ParseTime(From, "from"),
            Until = ParseTime(Until, "until"),
            Before = Live ? null : PageKey.Parse(Before),
        };
        var lag = status.Lag;
        IndexState = $"Index caught up {(lag.TotalSeconds < 90 ? $"{lag.TotalSeconds:0} s" : $"{lag.TotalMinutes:0} min")} ago.";
        if (Problems.Count > 0)
        {
            return;
        }
        try
        {
            var page = search.Search(query, ConsoleRoles.SeesPupilNames(User));
            Rows = page.Rows.Select(Show).ToList();
            if (!Live && page.Next is { } next)
            {
                NextUrl = Url.Page("/Decisions/Index", new { user = Person, client = Client, host = HostName, category = Category, action = Action, from = From, until = Until, before = next.ToString() });
            }
        }
        catch (SqliteException ex)
        {
            Problems.Add($"The decision index cannot be read now ({ex.Message}); it is being built or rebuilt from the audit files, which are complete.");
        }
    }

    private ShownDecision Show(DecisionRow r) => new(
        TimeZoneInfo.ConvertTime(r.At, TimeZoneInfo.Local).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        names.Show(r.User, r.DisplayName, r.Roles, User) ?? "", string.Join(", ", r.Roles), r.Client, r.Network ?? "", r.Method, r.Host,
        r.Target, r.Blocked ? "block" : "allow", r.Rule, r.Category ?? "", r.Status, r.Reference ?? "");

    private DateTimeOffset? ParseTime(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        if (DateTime.TryParseExact(text.Trim(), ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return new DateTimeOffset(local, TimeZoneInfo.Local.GetUtcOffset(local));
        }
        Problems.Add($"{field}: '{text}' is not a date and time (YYYY-MM-DDTHH:MM)");
        return null;
    }
}

/// <summary>One row as the viewer may see it.</summary>
internal sealed record ShownDecision(string At, string Person, string Roles, string Client, string Network, string Method, string Host,
    string Target, string Action, string Rule, string Category, int Status, string Reference);
