using System.Text.Json;
using FilterService.Tests.TestSupport;
using Microsoft.Playwright;

namespace FilterService.Tests.Decisions;

/// <summary>
/// Issues 18 and 19 end to end: the service as its own process, requests through the proxy (curl), the live view and
/// the search in real Chromium. The ICT manager sees a pupil's pseudonym, never the name, and finds the pupil by it;
/// the DSL sees the name. /health reports the index.
/// </summary>
public sealed class DecisionsConsoleTests(ConsoleBrowserHost browsers) : IClassFixture<ConsoleBrowserHost>
{
    private static string[] Settings(string audit) => [$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={audit}"];

    [Fact]
    public async Task Decisions_LiveView_ShowsProxyRequestsWithinSeconds_PseudonymForTheIctManager_NameForTheDsl()
    {
        var audit = TempDir.Create("decisions-e2e");
        var settings = Settings(audit);
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "ict", "ict-manager");
        await AdminAccounts.AddAsync(settings, "dee", "dsl");

        await using var browser = await browsers.NewAsync();
        await browser.SignInAsync(service.AdminUrl, "ict", AdminAccounts.Password);
        await browser.Page.GotoAsync(service.AdminUrl + "/decisions/live");
        Assert.Equal("Live decisions", (await browser.Page.Locator("h1").InnerTextAsync()).Trim());
        await browser.ScreenshotAsync("decisions-live-empty.png");

        // A pupil and a member of staff through the proxy, as browsers would.
        var pupil = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://www.facebook.com/decisions-e2e");
        Assert.Equal(403, pupil.HttpCode);
        // Staff editing Wikipedia: blocked at any hour (no-wikipedia-edits). Staff on Facebook would depend on the wall clock
        // (staff-working-hours), and outside school hours would be forwarded to the real site.
        var staff = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", "-X", "POST", "-d", "x=1",
            "http://en.wikipedia.org/w/index.php/staff-e2e");
        Assert.Equal(403, staff.HttpCode);

        // The live view refreshes itself: the rows appear without anyone touching the page.
        var rows = browser.Page.Locator("#decisions tbody tr");
        await Assertions.Expect(rows.Filter(new() { HasText = "/decisions-e2e" })).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        await Assertions.Expect(rows.Filter(new() { HasText = "/staff-e2e" })).ToHaveCountAsync(1, new() { Timeout = 30_000 });
        var pupilRow = rows.Filter(new() { HasText = "/decisions-e2e" });
        var shown = (await pupilRow.Locator("td.person .name").InnerTextAsync()).Trim();
        Assert.StartsWith("pupil-", shown); // the ICT manager sees a pseudonym
        Assert.DoesNotContain("pupil1", await browser.Page.ContentAsync());
        Assert.Equal("staff1", await rows.Filter(new() { HasText = "/staff-e2e" }).Locator("td.person .name").InnerTextAsync()); // staff as they are
        Assert.Contains("block", await pupilRow.InnerTextAsync());
        await browser.ScreenshotAsync("decisions-live-ict-manager.png");

        // The search: by the pseudonym (works), by the name (finds nothing for the ICT manager), by host and action.
        await browser.Page.GotoAsync($"{service.AdminUrl}/decisions?user={Uri.EscapeDataString(shown)}");
        await Assertions.Expect(browser.Page.Locator("#decisions tbody tr")).ToHaveCountAsync(1);
        await browser.ScreenshotAsync("decisions-search-pseudonym.png");
        await browser.Page.GotoAsync($"{service.AdminUrl}/decisions?user=pupil1");
        await Assertions.Expect(browser.Page.Locator("#no-decisions")).ToBeVisibleAsync();
        await browser.Page.GotoAsync($"{service.AdminUrl}/decisions");
        await browser.Page.FillAsync("input[name=host]", "facebook.com");
        await browser.Page.SelectOptionAsync("select[name=action]", "block");
        await browser.Page.ClickAsync("#decision-filters button[type=submit]");
        await Assertions.Expect(browser.Page.Locator("#decisions tbody tr").Filter(new() { HasText = "/decisions-e2e" })).ToHaveCountAsync(1);
        Assert.Contains("host=facebook.com", browser.Page.Url);
        await browser.ScreenshotAsync("decisions-search-host.png");

        await browser.Page.SetViewportSizeAsync(390, 844);
        await browser.Page.ReloadAsync();
        Assert.False(await browser.HasHorizontalScrollAsync());
        await browser.ScreenshotAsync("decisions-search-390.png");

        // The DSL sees the pupil's name and finds the pupil by name.
        await using var dsl = await browsers.NewAsync();
        await dsl.SignInAsync(service.AdminUrl, "dee", AdminAccounts.Password);
        await dsl.Page.GotoAsync($"{service.AdminUrl}/decisions?user=pupil1");
        var dslRow = dsl.Page.Locator("#decisions tbody tr").Filter(new() { HasText = "/decisions-e2e" });
        await Assertions.Expect(dslRow).ToHaveCountAsync(1);
        Assert.Equal("pupil1", await dslRow.Locator("td.person .name").InnerTextAsync());
        await dsl.ScreenshotAsync("decisions-search-dsl.png");

        // The menu has the entry; /health reports the index (no names in it).
        await Assertions.Expect(dsl.Page.Locator("header nav a[href='/decisions']")).ToHaveCountAsync(1);
        using var http = new HttpClient();
        var healthText = await http.GetStringAsync(service.AdminUrl + "/health");
        var decisions = JsonDocument.Parse(healthText).RootElement.GetProperty("decisions");
        Assert.True(decisions.GetProperty("records").GetInt64() >= 2);
        Assert.Equal(0, decisions.GetProperty("failures").GetInt64());
        Assert.DoesNotContain("pupil1", healthText);
        var metrics = await http.GetStringAsync(service.AdminUrl + "/metrics");
        Assert.Contains("filterservice_decisions_index_records ", metrics);
        Assert.Contains("filterservice_decisions_index_lag_seconds ", metrics);
    }
}
