using System.Net;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin;

/// <summary>Issue 18's hostile-input must-shows for sign-in and roles, against the service as its own process.</summary>
public sealed class ConsoleSecurityTests
{
    private static string[] Settings(string audit, params string[] extra) =>
        [$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={audit}", .. extra];

    [Fact]
    public async Task A_post_without_the_antiforgery_token_is_refused_even_with_a_valid_sign_in_cookie()
    {
        var settings = Settings(TempDir.Create("audit"));
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        using var http = new ConsoleHttp(service.AdminUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await http.SignInAsync("jo", AdminAccounts.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.Client.GetAsync("/accounts")).StatusCode); // the cookie works

        var fields = new Dictionary<string, string> { ["name"] = "mallory", ["role"] = "ict-manager", ["password"] = "a long enough password" };
        var refused = await http.PostAsync("/accounts?handler=Add", fields, token: null);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var forged = await http.PostAsync("/accounts?handler=Add", new(fields), token: "CfDJ8-not-a-token");
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        // A sign-in form posted from elsewhere (login CSRF) is refused the same way.
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/signin", new() { ["user"] = "jo", ["password"] = AdminAccounts.Password }, null)).StatusCode);
        var (_, list) = await AdminAccounts.RunAsync(["admin", "list", .. settings]);
        Assert.DoesNotContain("mallory", list);

        // With the token the same post works: the refusal above was the token's.
        var token = await http.TokenAsync("/accounts");
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/accounts?handler=Add", new(fields), token)).StatusCode);
        (_, list) = await AdminAccounts.RunAsync(["admin", "list", .. settings]);
        Assert.Contains("mallory\tict-manager", list);
    }

    [Fact]
    public async Task An_auditor_can_read_the_accounts_but_every_change_is_403_on_the_server_and_changes_nothing()
    {
        var audit = TempDir.Create("audit");
        var settings = Settings(audit);
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        await AdminAccounts.AddAsync(settings, "aud", "auditor");
        using var http = new ConsoleHttp(service.AdminUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await http.SignInAsync("aud", AdminAccounts.Password)).StatusCode);
        var page = await http.Client.GetStringAsync("/accounts");
        Assert.Contains("<td data-label=\"Name\">jo</td>", page);
        Assert.DoesNotContain("handler=Add", page); // no forms shown, but the server decides, below

        var token = await http.TokenAsync("/account/password"); // a real token of this session
        var (_, before) = await AdminAccounts.RunAsync(["admin", "list", .. settings]);
        foreach (var (handler, fields) in new (string, Dictionary<string, string>)[]
        {
            ("Add", new() { ["name"] = "mallory", ["role"] = "ict-manager", ["password"] = "a long enough password" }),
            ("Role", new() { ["name"] = "aud", ["role"] = "ict-manager" }),
            ("Role", new() { ["name"] = "jo", ["role"] = "auditor" }),
            ("Disable", new() { ["name"] = "jo", ["disabled"] = "true" }),
            ("Unlock", new() { ["name"] = "jo" }),
        })
        {
            var response = await http.PostAsync($"/accounts?handler={handler}", fields, token);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{handler}: {response.StatusCode}");
        }
        var (_, after) = await AdminAccounts.RunAsync(["admin", "list", .. settings]);
        Assert.Equal(before, after);
        Assert.Empty(await ConsoleSignInTests.AuditLinesAsync(audit, "console-account", 0));
    }

    [Fact]
    public async Task Ten_wrong_passwords_lock_that_account_only_and_say_nothing_about_whether_it_exists()
    {
        var audit = TempDir.Create("audit");
        var settings = Settings(audit);
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        await AdminAccounts.AddAsync(settings, "sam", "auditor");
        using var http = new ConsoleHttp(service.AdminUrl);
        string? firstFailure = null;
        for (int i = 1; i <= 10; i++)
        {
            var wrong = await http.SignInAsync("jo", $"wrong password {i}");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            firstFailure ??= Message(await wrong.Content.ReadAsStringAsync());
        }
        var locked = await http.SignInAsync("jo", AdminAccounts.Password);
        Assert.Equal(HttpStatusCode.Unauthorized, locked.StatusCode); // the right password no longer works
        var unknown = await http.SignInAsync("nobody", "wrong password");
        Assert.Equal(firstFailure, Message(await locked.Content.ReadAsStringAsync()));
        Assert.Equal(firstFailure, Message(await unknown.Content.ReadAsStringAsync())); // the same words for every failure

        // Another account is unaffected, in a real browser too.
        await using var browser = await ConsoleBrowser.LaunchAsync();
        await browser.Page.GotoAsync(service.AdminUrl + "/signin");
        await browser.Page.FillAsync("#user", "jo");
        await browser.Page.FillAsync("#password", AdminAccounts.Password);
        await browser.Page.ClickAsync("button[type=submit]");
        Assert.Contains("locked", await browser.Page.Locator(".error").InnerTextAsync());
        await browser.ScreenshotAsync("console-locked.png");
        await browser.SignInAsync(service.AdminUrl, "sam", AdminAccounts.Password);
        Assert.Contains("locked until", await browser.Page.GotoAsync(service.AdminUrl + "/accounts") is { } r ? await r.TextAsync() : "");

        var events = await ConsoleSignInTests.AuditLinesAsync(audit, "console-sign-in", 14);
        Assert.Equal(["failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "locked-now", "locked", "failed", "locked", "ok"],
            events.Select(e => e.GetProperty("outcome").GetString()!).ToArray());

        // The CLI unlocks it.
        Assert.Equal(0, (await AdminAccounts.RunAsync(["admin", "unlock", "--user", "jo", .. settings])).Code);
        Assert.Equal(HttpStatusCode.Redirect, (await http.SignInAsync("jo", AdminAccounts.Password)).StatusCode);
    }

    [Fact]
    public async Task The_sign_in_cookie_is_HttpOnly_SameSite_Strict_and_a_changed_role_ends_the_session()
    {
        var settings = Settings(TempDir.Create("audit"));
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        await AdminAccounts.AddAsync(settings, "kim", "dsl");
        using var http = new ConsoleHttp(service.AdminUrl);
        var signIn = await http.SignInAsync("jo", AdminAccounts.Password);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("filter-console="));
        Assert.Contains("; httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; path=/", cookie);
        Assert.DoesNotContain("expires=", cookie, StringComparison.OrdinalIgnoreCase); // a session cookie
        using var fresh = new ConsoleHttp(service.AdminUrl);
        var antiforgery = Assert.Single((await fresh.Client.GetAsync("/signin")).Headers.GetValues("Set-Cookie"), c => c.StartsWith("filter-console-antiforgery="));
        Assert.Contains("; samesite=strict", antiforgery, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", antiforgery, StringComparison.OrdinalIgnoreCase);

        // kim's session ends as soon as an ict-manager changes kim's role (the account's stamp changed).
        using var kim = new ConsoleHttp(service.AdminUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await kim.SignInAsync("kim", AdminAccounts.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await kim.Client.GetAsync("/")).StatusCode);
        var token = await http.TokenAsync("/accounts");
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/accounts?handler=Role", new() { ["name"] = "kim", ["role"] = "auditor" }, token)).StatusCode);
        var after = await kim.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.StartsWith("/signin", after.Headers.Location!.PathAndQuery);
    }

    private static string Message(string html) =>
        System.Text.RegularExpressions.Regex.Match(html, "<p class=\"error\" role=\"alert\">([^<]*)</p>").Groups[1].Value is { Length: > 0 } m ? m : throw new Xunit.Sdk.XunitException("no error message:\n" + html);
}
