using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages;

/// <summary>Signs out (a POST with the antiforgery token, from the layout's button); recorded in the audit trail.</summary>
internal sealed class SignOutModel : PageModel
{
    private readonly ConsoleAudit _audit;

    public SignOutModel(ConsoleAudit audit) => _audit = audit;

    public async Task<IActionResult> OnPostAsync()
    {
        _audit.Record(HttpContext, "console-sign-out", User.Identity?.Name, "ok");
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Redirect("/signin");
    }
}
