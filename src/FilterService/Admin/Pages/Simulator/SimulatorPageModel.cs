using FilterService.Admin.Simulator;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.Simulator;

/// <summary>
/// The simulator's form, shared by its two pages: GET fields only (nothing changes state), bound from the query string.
/// The user field is whatever the admin typed; the page never lists users.
/// </summary>
[Authorize(Policy = ConsolePolicies.Read)]
internal abstract class SimulatorPageModel(SimulatorService simulator) : PageModel
{
    [BindProperty(SupportsGet = true, Name = "user")]
    public string? Person { get; set; }

    [BindProperty(SupportsGet = true, Name = "role")]
    public string? Role { get; set; }

    [BindProperty(SupportsGet = true, Name = "where")]
    public string? Where { get; set; }

    [BindProperty(SupportsGet = true, Name = "at")]
    public string? At { get; set; }

    [BindProperty(SupportsGet = true, Name = "week")]
    public string? Week { get; set; }

    [BindProperty(SupportsGet = true, Name = "url")]
    public string? Target { get; set; }

    [BindProperty(SupportsGet = true, Name = "method")]
    public string? Method { get; set; }

    internal List<FormProblem> Problems { get; } = [];

    internal SimulatorService Simulator => simulator;

    internal SimulatorForm Form => new(Person, Role, Where, At, Target, Method, Week);

    /// <summary>The problem with <paramref name="field"/>, shown next to it, or null.</summary>
    internal string? ProblemWith(string field) => Problems.FirstOrDefault(p => p.Field == field)?.Message;

    /// <summary>The query string of this form for the other page (the week view links to "why", and back).</summary>
    internal string Query(string page, string? at = null) => page + QueryString.Create(new Dictionary<string, string?>
    {
        ["user"] = Person, ["role"] = Role, ["where"] = Where, ["url"] = Target, ["method"] = Method,
        ["at"] = at ?? At, ["week"] = Week,
    }.Where(p => !string.IsNullOrWhiteSpace(p.Value))).ToUriComponent();
}
