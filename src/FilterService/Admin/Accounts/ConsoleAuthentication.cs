using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace FilterService.Admin.Accounts;

/// <summary>
/// The console's sign-in cookie: HttpOnly, SameSite=Strict, Secure when the request came over HTTPS, sliding expiry;
/// it carries the account name, its one role and the account's stamp, and each request checks the stamp, so a changed
/// password or role, or a disabled account, ends every session of that account at once.
/// </summary>
internal static class ConsoleAuthentication
{
    public const string CookieName = "filter-console";
    public const string StampClaim = "console-stamp";

    /// <summary>Idle time after which a session ends (each request slides it on).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(60);

    public static void Configure(CookieAuthenticationOptions o)
    {
        o.Cookie.Name = CookieName;
        o.Cookie.HttpOnly = true;
        o.Cookie.SameSite = SameSiteMode.Strict;
        o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        o.ExpireTimeSpan = IdleTimeout;
        o.SlidingExpiration = true;
        o.LoginPath = "/signin";
        o.LogoutPath = "/signout";
        o.ReturnUrlParameter = "returnUrl";
        o.Events = new CookieAuthenticationEvents
        {
            // Signed in but not allowed: 403, not a redirect to a page that does not exist.
            OnRedirectToAccessDenied = context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            },
            OnValidatePrincipal = ValidateAsync,
        };
    }

    /// <summary>The principal of a signed-in account.</summary>
    public static ClaimsPrincipal Principal(Account account) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.Name, account.Name), new Claim(ClaimTypes.Role, account.Role), new Claim(StampClaim, account.Stamp)],
        CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, ClaimTypes.Role));

    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var name = context.Principal?.Identity?.Name;
        var stamp = context.Principal?.FindFirst(StampClaim)?.Value;
        var account = name is null ? null : context.HttpContext.RequestServices.GetRequiredService<AccountStore>().Find(name);
        if (account is null || account.Disabled || account.Stamp != stamp)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }
}
