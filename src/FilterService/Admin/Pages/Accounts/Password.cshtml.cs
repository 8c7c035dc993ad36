using FilterService.Admin.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.Accounts;

/// <summary>
/// Any signed-in admin changes their own password: the current one is checked like a sign-in (a wrong one counts
/// towards the lockout), every other session of the account ends, this one is renewed.
/// </summary>
[PostRequires(ConsolePolicies.Read)]
internal sealed class PasswordModel(AccountStore store, ConsoleAudit audit) : PageModel
{
    public string? Message { get; private set; }
    public string? Error { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? current, string? password, string? confirm)
    {
        var name = User.Identity!.Name!;
        if (password != confirm)
        {
            Error = "the new password and its confirmation differ";
        }
        else if (current is not { Length: > 0 and <= 1024 } || store.SignIn(name, current).Outcome != SignInOutcome.Succeeded)
        {
            Error = "the current password is wrong (or the account is locked)";
            audit.Record(HttpContext, "console-password", name, "failed", "wrong current password");
        }
        else if (store.SetPassword(name, password ?? "") is { } problem)
        {
            Error = problem;
        }
        if (Error is not null)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        audit.Record(HttpContext, "console-password", name, "changed");
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, ConsoleAuthentication.Principal(store.Find(name)!));
        Message = "Your password has been changed; your other sessions are signed out.";
        return Page();
    }
}
