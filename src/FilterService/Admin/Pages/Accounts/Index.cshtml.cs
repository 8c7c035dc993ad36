using FilterService.Admin.Accounts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.Accounts;

/// <summary>
/// The admin accounts: every role sees the list; only an ict-manager adds, changes a role, unlocks, disables or enables
/// (<see cref="PostRequiresAttribute"/>: enforced on the server). The last enabled ict-manager cannot be demoted or
/// disabled, so the console never locks its school out. Every change is in the audit trail.
/// </summary>
[PostRequires(ConsolePolicies.EditPolicy)]
internal sealed class IndexModel(AccountStore store, ConsoleAudit audit, TimeProvider time) : PageModel
{
    public IReadOnlyList<Account> Accounts { get; private set; } = [];
    public DateTimeOffset Now { get; private set; }
    public string? Message { get; private set; }
    public string? Error { get; private set; }
    public bool CanEdit => User.IsInRole(ConsoleRoles.IctManager);

    public void OnGet() => Load();

    public IActionResult OnPostAdd(string? name, string? role, string? password)
    {
        name = name?.Trim() ?? "";
        var problem = store.Add(name, role ?? "", password ?? "");
        return Done(problem, $"added {name} ({role})", "added", $"account {name}, role {role}");
    }

    public IActionResult OnPostRole(string? name, string? role)
    {
        name ??= "";
        var problem = LastManager(name, role != ConsoleRoles.IctManager) ?? store.SetRole(name, role ?? "");
        return Done(problem, $"{name} is now {role}", "role-changed", $"account {name}, role {role}");
    }

    public IActionResult OnPostUnlock(string? name)
    {
        name ??= "";
        return Done(store.Unlock(name) ? null : $"no account named '{name}'", $"unlocked {name}", "unlocked", $"account {name}");
    }

    public IActionResult OnPostDisable(string? name, bool disabled)
    {
        name ??= "";
        var problem = LastManager(name, disabled) ?? (store.SetDisabled(name, disabled) ? null : $"no account named '{name}'");
        return Done(problem, $"{name} {(disabled ? "disabled" : "enabled")}", disabled ? "disabled" : "enabled", $"account {name}");
    }

    /// <summary>A problem if the change would leave no enabled ict-manager.</summary>
    private string? LastManager(string name, bool removesManager)
    {
        if (!removesManager)
        {
            return null;
        }
        var managers = store.List().Where(a => a.Role == ConsoleRoles.IctManager && !a.Disabled).ToList();
        return managers.Count == 1 && string.Equals(managers[0].Name, name, StringComparison.OrdinalIgnoreCase)
            ? $"{name} is the only enabled ict-manager: add another first"
            : null;
    }

    private PageResult Done(string? problem, string message, string outcome, string detail)
    {
        if (problem is null)
        {
            audit.Record(HttpContext, "console-account", User.Identity?.Name, outcome, detail);
            Message = message;
        }
        else
        {
            Error = problem;
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        Load();
        return Page();
    }

    private void Load()
    {
        Now = time.GetUtcNow();
        Accounts = store.List();
    }
}
