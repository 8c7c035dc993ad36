using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin;

/// <summary>The Accounts page in Chromium: an ict-manager manages accounts; everyone changes their own password.</summary>
public sealed class ConsoleAccountsPageTests(ConsoleBrowserHost browsers) : IClassFixture<ConsoleBrowserHost>
{
    [Fact]
    public async Task An_ict_manager_adds_an_auditor_changes_the_role_and_disables_it_and_the_auditor_changes_their_password()
    {
        var audit = TempDir.Create("audit");
        string[] settings = [$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={audit}"];
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");

        await using (var browser = await browsers.NewAsync())
        {
            await browser.SignInAsync(service.AdminUrl, "jo", AdminAccounts.Password);
            await browser.Page.ClickAsync("nav >> text=Accounts");
            Assert.Equal("/accounts", new Uri(browser.Page.Url).AbsolutePath);
            await browser.Page.FillAsync("#new-name", "sam");
            await browser.Page.SelectOptionAsync("#new-role", "dsl");
            await browser.Page.FillAsync("#new-password", "sam's first password");
            await browser.Page.ClickAsync("#add-account button");
            Assert.Equal("added sam (dsl)", await browser.Page.Locator(".notice").InnerTextAsync());

            var sam = browser.Page.Locator("tr[data-account=sam]");
            await sam.Locator("select[name=role]").SelectOptionAsync("auditor");
            await sam.Locator("text=Set role").ClickAsync();
            Assert.Equal("sam is now auditor", await browser.Page.Locator(".notice").InnerTextAsync());
            Assert.Equal("auditor", await browser.Page.Locator("tr[data-account=sam] td").Nth(1).InnerTextAsync());

            // The only ict-manager cannot demote themselves.
            var jo = browser.Page.Locator("tr[data-account=jo]");
            await jo.Locator("select[name=role]").SelectOptionAsync("auditor");
            await jo.Locator("text=Set role").ClickAsync();
            Assert.Equal("jo is the only enabled ict-manager: add another first", await browser.Page.Locator(".error").InnerTextAsync());
            await browser.ScreenshotAsync("console-accounts.png");

            await browser.Page.SetViewportSizeAsync(390, 844);
            await browser.Page.GotoAsync(service.AdminUrl + "/accounts");
            Assert.False(await browser.HasHorizontalScrollAsync());
            await browser.ScreenshotAsync("console-accounts-390.png");
        }

        await using (var browser = await browsers.NewAsync())
        {
            await browser.SignInAsync(service.AdminUrl, "sam", "sam's first password");
            await browser.Page.GotoAsync(service.AdminUrl + "/accounts");
            Assert.Equal(0, await browser.Page.Locator("#add-account").CountAsync()); // an auditor sees no forms (and the server refuses them: ConsoleSecurityTests)
            await browser.Page.ClickAsync("text=Change your own password");
            await browser.Page.FillAsync("#current", "sam's first password");
            await browser.Page.FillAsync("#password", "sam's second password");
            await browser.Page.FillAsync("#confirm", "sam's second password");
            await browser.Page.ClickAsync("main button[type=submit]");
            Assert.Contains("Your password has been changed", await browser.Page.Locator(".notice").InnerTextAsync());
            await browser.Page.GotoAsync(service.AdminUrl + "/");
            Assert.Equal("/", new Uri(browser.Page.Url).AbsolutePath); // this session was renewed, not ended
        }

        var (_, list) = await AdminAccounts.RunAsync(["admin", "list", .. settings]);
        Assert.Contains("sam\tauditor\tactive", list);
        var changes = await ConsoleSignInTests.AuditLinesAsync(audit, "console-account", 2);
        Assert.Equal(["added", "role-changed"], changes.Select(e => e.GetProperty("outcome").GetString() ?? "(null)").ToArray());
        Assert.All(changes, e => Assert.Equal("jo", e.GetProperty("admin").GetString()));
        Assert.Single(await ConsoleSignInTests.AuditLinesAsync(audit, "console-password", 1));
        var text = string.Concat(Directory.GetFiles(audit, "audit-*.json").Select(File.ReadAllText));
        Assert.DoesNotContain("sam's first password", text);
        Assert.DoesNotContain("sam's second password", text);
    }
}
