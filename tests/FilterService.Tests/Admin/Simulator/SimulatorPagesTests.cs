using FilterService.Tests.TestSupport;
using Microsoft.Playwright;

namespace FilterService.Tests.Admin.Simulator;

/// <summary>
/// The simulator's pages end to end: the service as its own process on the Cherry Oak sample, an account from the CLI,
/// real Chromium. Screenshots under the test output's screenshots/ folder.
/// </summary>
public sealed class SimulatorPagesTests(ConsoleBrowserHost browsers) : IClassFixture<ConsoleBrowserHost>
{
    private static string[] Settings(string audit) => [$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={audit}"];

    [Fact]
    public async Task An_auditor_asks_why_staff_social_media_is_blocked_at_ten_and_sees_the_lunch_window_in_the_week()
    {
        var settings = Settings(TempDir.Create("audit"));
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "audrey", "auditor");
        await using var browser = await browsers.NewAsync();
        var page = browser.Page;
        await browser.SignInAsync(service.AdminUrl, "audrey", AdminAccounts.Password);

        // "Why was this blocked?" from the menu: staff1 on the school wifi, 10:00 on Monday 23 November 2026.
        await page.ClickAsync("header nav a[href='/simulator']");
        await page.FillAsync("#sim-user", "staff1");
        await page.FillAsync("#sim-where", "school-wifi");
        await page.FillAsync("#sim-at", "2026-11-23T10:00");
        await page.FillAsync("#sim-url", "https://www.facebook.com/");
        await page.ClickAsync("form.card button[type=submit]");
        await Assertions.Expect(page.Locator("#headline")).ToHaveTextAsync("BLOCKED CONNECT www.facebook.com:443");
        Assert.Contains("user=staff1", new Uri(page.Url).Query); // a GET form: the question is in the URL, nothing is posted
        Assert.Equal("staff-working-hours", await page.Locator("#rule").InnerTextAsync());
        var trace = await page.Locator("#trace tbody tr").AllInnerTextsAsync();
        Assert.Contains(trace, r => r.Contains("rule staff-lunch-staffroom") && r.Contains("network school-wifi is not among the rule's networks"));
        Assert.Contains(trace, r => r.StartsWith("->") && r.Contains("rule staff-working-hours") && r.Contains("every condition holds; this decides"));
        Assert.Contains("allowed from Monday 2026-11-23 17:00 Europe/London", await page.Locator("#answer .facts").InnerTextAsync());
        await browser.ScreenshotAsync("simulator-why.png");

        // The week, from the staffroom: the lunch window is allowed, the rest of the working day blocked.
        await page.FillAsync("#sim-where", "staffroom");
        await page.ClickAsync("form.card button[type=submit]");
        await page.ClickAsync("text=The week for this person and URL");
        Assert.Equal("/simulator/week", new Uri(page.Url).AbsolutePath);
        await Assertions.Expect(page.Locator("#week h2")).ToHaveTextAsync("Week of Monday 23 November 2026 (Europe/London)");
        var rows = await page.Locator("#segments tbody tr").AllInnerTextsAsync();
        Assert.Contains("Mon 12:00\tMon 13:00\tallowed\tstaff-lunch-staffroom", rows.Select(r => string.Join('\t', r.Split('\t').Take(4))));
        Assert.Contains("Fri 13:00\tFri 17:00\tblocked\tstaff-working-hours", rows.Select(r => string.Join('\t', r.Split('\t').Take(4))));
        Assert.Equal(21, rows.Count);
        var lunch = page.Locator("#week-chart rect.allow title", new() { HasTextString = "Mon 12:00-Mon 13:00 allowed by staff-lunch-staffroom" });
        await Assertions.Expect(lunch).ToHaveCountAsync(1);
        Assert.Contains("12:00", await page.Locator("#week-chart text.boundary").AllTextContentsAsync());
        Assert.Contains("allowed", await page.Locator("#legend").InnerTextAsync());
        await browser.ScreenshotAsync("simulator-week.png");

        // At 390 px the page does not scroll sideways; the timeline scrolls inside its own box.
        await page.SetViewportSizeAsync(390, 844);
        await page.ReloadAsync();
        Assert.False(await browser.HasHorizontalScrollAsync());
        Assert.True(await page.Locator("#week-scroll").EvaluateAsync<bool>("e => e.scrollWidth > e.clientWidth"));
        await browser.ScreenshotAsync("simulator-week-390.png");
    }

    [Fact]
    public async Task Hostile_input_is_shown_encoded_and_a_pupils_name_is_not_shown_to_the_ict_manager()
    {
        var settings = Settings(TempDir.Create("audit"));
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        await using var browser = await browsers.NewAsync(390, 844);
        var page = browser.Page;
        await browser.SignInAsync(service.AdminUrl, "jo", AdminAccounts.Password);

        var hostile = "<script>document.title='owned'</script>";
        await page.GotoAsync(service.AdminUrl + "/simulator?where=" + Uri.EscapeDataString(hostile) + "&url=" + Uri.EscapeDataString("https://x/" + hostile) + "&at=x");
        var problems = await page.Locator(".error").AllInnerTextsAsync();
        Assert.Contains(problems, p => p.Contains($"'{hostile}' is neither an IP address nor one of the networks"));
        Assert.Contains(problems, p => p.Contains("'x' is not an ISO 8601 date-time"));
        Assert.Equal(0, await page.Locator("main script").CountAsync());
        Assert.NotEqual("owned", await page.TitleAsync());
        Assert.Equal(0, await page.Locator("#answer").CountAsync());
        await browser.ScreenshotAsync("simulator-hostile-390.png");

        // pupil1 is Pat Pupil in users.csv: the page says what the admin typed, not the pupil's name.
        await page.GotoAsync(service.AdminUrl + "/simulator?user=pupil1&where=pupil-lan&at=2026-11-23T10:00&url=https%3A%2F%2Fwww.tiktok.com%2F");
        await Assertions.Expect(page.Locator("#headline")).ToHaveTextAsync("BLOCKED CONNECT www.tiktok.com:443");
        Assert.Equal("pupils-social", await page.Locator("#rule").InnerTextAsync());
        var answer = await page.Locator("#answer").InnerTextAsync();
        Assert.Contains("pupil1, roles pupil, network pupil-lan", answer);
        Assert.DoesNotContain("Pat Pupil", await page.ContentAsync());
        Assert.False(await browser.HasHorizontalScrollAsync());
        await browser.ScreenshotAsync("simulator-pupil-390.png");
    }
}
