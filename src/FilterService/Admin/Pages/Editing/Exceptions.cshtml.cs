using FilterService.Admin.Editing;
using FilterService.Policy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Pages.Editing;

/// <summary>One exception as written in policy.yaml.</summary>
internal sealed record ExceptionRow(string Name, string For, string Allows, string From, string Until, string During, string GrantedBy, string Why);

/// <summary>Exceptions: granted (granted_by is the signed-in admin), ended now.</summary>
internal sealed class ExceptionsModel(ExceptionEditor editor, ScheduleEditor schedules, PolicyStore store, IAuthorizationService authorization) : EditingPageModel(authorization)
{
    public IReadOnlyList<ExceptionRow> Exceptions { get; private set; } = [];
    public IReadOnlyList<string> Categories { get; private set; } = [];
    public IReadOnlyList<string> Roles { get; private set; } = [];
    public IReadOnlyList<string> Schedules { get; private set; } = [];

    public void OnGet()
    {
        static string Join(YamlNode n, params string[] keys) => string.Join(" ", keys.SelectMany(k => PolicyEdits.Scalars(n, k)));
        Exceptions = editor.List().Select(n => new ExceptionRow(
            PolicyEdits.Scalar(n, "name") ?? "", Join(n, "user", "users", "role", "roles"), Join(n, "allow", "hosts"),
            Join(n, "from"), Join(n, "until"), Join(n, "during"), Join(n, "granted_by"), Join(n, "reason"))).ToList();
        // Statutory categories are never offered: the loader would refuse them anyway (PM0402).
        Categories = store.Current.Categories.Where(c => !c.Statutory).Select(c => c.Name).ToList();
        Roles = editor.Roles();
        Schedules = schedules.List().Select(s => s.Name).ToList();
    }

    public async Task<IActionResult> OnPostAddAsync(string? name, string? user, string? role, string? category, string? hosts, string? from, string? until, string? during, string? why)
    {
        var outcome = await editor.AddAsync(new ExceptionForm(name ?? "", user, role, category, hosts, from, until, during, why ?? ""), Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"Exception '{name}' granted");
    }

    public async Task<IActionResult> OnPostEndAsync(string? name)
    {
        var outcome = await editor.EndNowAsync(name ?? "", Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"Exception '{name}' ended");
    }
}
