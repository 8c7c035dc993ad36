using FilterService.Tests.TestSupport;
using Microsoft.Playwright;

namespace FilterService.Tests.Admin.Reports;

/// <summary>The report pages in real Chromium against the service started as its own process.</summary>
public sealed class ReportPagesTests(ConsoleBrowserHost browsers) : IClassFixture<ConsoleBrowserHost>
{
    [Fact]
    public async Task WeeklyReportPage_ShowsTheWeeksChartsAndFigures_ReviewPageRunsThePack_AndAnAuditorMayReadBoth()
    {
        var audit = TempDir.Create("report-pages");
        // 2026-W48 from the real writer and engine, before the service starts (it appends to today's file only).
        ReportTestData.Write(audit, new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero), new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero), 300, seed: 11);
        string[] settings = [$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={audit}"];
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "dsl1", "dsl");
        await AdminAccounts.AddAsync(settings, "aud1", "auditor");

        await using var browser = await browsers.NewAsync();
        await browser.SignInAsync(service.AdminUrl, "dsl1", AdminAccounts.Password);
        var nav = await browser.Page.Locator("header nav").InnerTextAsync();
        Assert.Contains("Weekly report", nav);
        Assert.Contains("Review pack", nav);

        // Choose the week in the form, as a person would.
        await browser.Page.GotoAsync(service.AdminUrl + "/reports/weekly");
        await browser.Page.FillAsync("#week", "2026-W48");
        await ConsoleBrowser.ClickAndWaitForLoadAsync(browser.Page, browser.Page.Locator("#choose-week button[type=submit]"));
        Assert.Contains("week=2026-W48", browser.Page.Url);
        var charts = browser.Page.Locator("img.chart");
        Assert.Equal(4, await charts.CountAsync());
        for (int i = 0; i < 4; i++)
        {
            // Decoded and drawn: a broken image has naturalWidth 0.
            Assert.Equal(640, await charts.Nth(i).EvaluateAsync<int>("img => img.complete ? img.naturalWidth : -1"));
        }
        var blocked = await browser.Page.Locator("#summary tr[data-key=blocked]").GetAttributeAsync("data-count");
        Assert.True(long.Parse(blocked!) > 0);
        // reports.css loaded (the console's CSP allows no inline style).
        Assert.Equal("collapse", await browser.Page.Locator(".report table").First.EvaluateAsync<string>("t => getComputedStyle(t).borderCollapse"));
        await browser.ScreenshotAsync("reports-weekly.png");

        await browser.Page.SetViewportSizeAsync(390, 844);
        await browser.Page.ReloadAsync();
        Assert.False(await browser.HasHorizontalScrollAsync());
        await browser.ScreenshotAsync("reports-weekly-390.png");

        var download = await browser.Page.RunAndWaitForDownloadAsync(() => browser.Page.ClickAsync("#download"));
        Assert.Equal("weekly-report-2026-W48.html", download.SuggestedFilename);

        // An auditor reads the review pack; running it changes nothing.
        await using var auditor = await browsers.NewAsync();
        await auditor.SignInAsync(service.AdminUrl, "aud1", AdminAccounts.Password);
        await auditor.Page.GotoAsync(service.AdminUrl + "/reports/review");
        await ConsoleBrowser.ClickAndWaitForLoadAsync(auditor.Page, auditor.Page.Locator("#run"));
        Assert.Contains("20 groups × 3 categories: 0 critical, 0 flagged.", await auditor.Page.Locator("#summary").InnerTextAsync());
        Assert.Equal(60, await auditor.Page.Locator("#results tbody tr").CountAsync());
        Assert.DoesNotContain("pupil1", await auditor.Page.ContentAsync());
        await auditor.ScreenshotAsync("reports-review.png");
        await auditor.Page.GotoAsync(service.AdminUrl + "/reports/weekly?week=2026-W99");
        Assert.Contains("2026 has 53 ISO weeks", await auditor.Page.Locator("#week-error").InnerTextAsync());
    }
}
