using FilterService.Admin.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages;

/// <summary>
/// Sign-in with an admin account (<see cref="AccountStore.SignIn"/>): one message for every failure, so the page never
/// says whether a name exists; every attempt is in the audit trail (<see cref="ConsoleAudit"/>), never the password.
/// </summary>
internal sealed class SignInModel : PageModel
{
    private readonly AccountStore _accounts;
    private readonly ConsoleAudit _audit;
    private readonly LockoutOptions _lockout;

    public SignInModel(AccountStore accounts, ConsoleAudit audit, LockoutOptions lockout)
    {
        _accounts = accounts;
        _audit = audit;
        _lockout = lockout;
    }

    public string? UserName { get; private set; }
    public string? ReturnUrl { get; private set; }
    public bool Failed { get; private set; }
    public int MaxFailures => _lockout.MaxFailures;
    public int LockMinutes => (int)Math.Ceiling(_lockout.Duration.TotalMinutes);

    public void OnGet(string? returnUrl) => ReturnUrl = returnUrl;

    public async Task<IActionResult> OnPostAsync(string? user, string? password, string? returnUrl)
    {
        UserName = user?.Trim() ?? "";
        ReturnUrl = returnUrl;
        var result = UserName.Length is > 0 and <= 64 && password is { Length: > 0 and <= 1024 }
            ? _accounts.SignIn(UserName, password)
            : new AccountSignIn(SignInOutcome.Failed, null);
        if (result.Account is not { } account)
        {
            var outcome = result.Outcome switch
            {
                SignInOutcome.LockedNow => "locked-now",
                SignInOutcome.Locked => "locked",
                SignInOutcome.Disabled => "disabled",
                _ => "failed",
            };
            _audit.Record(HttpContext, "console-sign-in", UserName, outcome,
                result.Outcome == SignInOutcome.LockedNow ? $"{_lockout.MaxFailures} wrong passwords: locked for {_lockout.Duration}" : null);
            Failed = true;
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, ConsoleAuthentication.Principal(account),
            new AuthenticationProperties { IsPersistent = false });
        _audit.Record(HttpContext, "console-sign-in", account.Name, "ok", account.Role);
        return LocalRedirect(Url.IsLocalUrl(returnUrl) ? returnUrl! : "/");
    }
}
