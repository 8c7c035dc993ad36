using FilterService.Tests.TestSupport;
using Microsoft.Playwright;

namespace FilterService.Tests.Admin.Editing;

/// <summary>
/// Issue 18 must-shows for editing, end to end: the service as its own process, an ict-manager added by the CLI, real
/// Chromium, and a pupil's requests through the live proxy with curl (pupil1's proxy credentials, as the proxy tests do).
/// </summary>
public sealed class PolicyPagesTests(ConsoleBrowserHost browsers) : IClassFixture<ConsoleBrowserHost>
{
    private const string Pupil = "pupil1:pupil1-demo";

    private sealed record Console(ServiceProcess Service, ConsoleBrowser Browser, string Policy, TestOrigin Origin) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Browser.DisposeAsync();
            await Service.DisposeAsync();
            await Origin.DisposeAsync();
        }

        public async Task<int> PupilGetsAsync() =>
            (await Curl.RunAsync("--proxy", Service.Proxy, "--proxy-user", Pupil, "http://example-test.org/hello")).HttpCode;

        /// <summary>Waits (at most 20 s) until the pupil's request gets <paramref name="code"/>; the last code seen otherwise.</summary>
        public async Task<int> PupilGetsWithinAsync(int code)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            int got;
            while ((got = await PupilGetsAsync()) != code && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
            return got;
        }

        public byte[] PolicyBytes() => File.ReadAllBytes(System.IO.Path.Combine(Policy, "policy.yaml"));
    }

    private async Task<Console> StartAsync()
    {
        var policy = Samples.CopyDefault();
        var origin = await TestOrigin.StartAsync();
        string[] settings = [$"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}", $"--Proxy:HostOverrides:example-test.org=127.0.0.1:{origin.HttpPort}", "--Proxy:AllowLoopbackUpstream=true"];
        var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "ict1", "ict-manager");
        var browser = await browsers.NewAsync();
        browser.Page.Dialog += (_, dialog) => throw new Xunit.Sdk.XunitException($"a script ran in the console: {dialog.Message}");
        await browser.SignInAsync(service.AdminUrl, "ict1", AdminAccounts.Password);
        return new Console(service, browser, policy, origin);
    }

    private static async Task SubmitAsync(IPage page, string formSelector, string reason)
    {
        var form = page.Locator(formSelector);
        await form.Locator("input[name=reason]").FillAsync(reason);
        await ConsoleBrowser.ClickAndWaitForLoadAsync(page, form.Locator("button[type=submit]").First);
    }

    [Fact]
    public async Task MustShow_AddExampleTestOrgToABlockedCategory_TheLiveProxyRefusesItToAPupilWithinSeconds_ThenAnExceptionAppliesAndEnds()
    {
        await using var console = await StartAsync();
        var page = console.Browser.Page;
        var first = await Curl.RunAsync("--proxy", console.Service.Proxy, "--proxy-user", Pupil, "http://example-test.org/hello");
        Assert.True(first.HttpCode == 200, first.Body);

        await page.GotoAsync(console.Service.AdminUrl + "/policy/lists");
        await page.FillAsync("#entry-social", "example-test.org");
        await SubmitAsync(page, "#form-add-social", "pupils found it in lessons");
        await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync("Added to social");
        await Assertions.Expect(page.Locator("#category-social .entries")).ToContainTextAsync("example-test.org");
        await console.Browser.ScreenshotAsync("editing-list-added.png");
        Assert.Equal(403, await console.PupilGetsWithinAsync(403));

        await page.GotoAsync(console.Service.AdminUrl + "/policy/exceptions");
        await page.FillAsync("#ex-name", "year9-project");
        await page.FillAsync("#ex-role", "pupil");
        await page.SelectOptionAsync("#ex-allow", "social");
        await page.FillAsync("#ex-until", "2099-12-31");
        await page.FillAsync("#ex-why", "Year 9 social media project");
        await SubmitAsync(page, "#form-add-exception", "project week");
        await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync("Exception 'year9-project' granted");
        await Assertions.Expect(page.Locator("#exceptions tr[data-name=year9-project]")).ToContainTextAsync("ict1");
        await console.Browser.ScreenshotAsync("editing-exception-granted.png");
        Assert.Equal(200, await console.PupilGetsWithinAsync(200));

        await SubmitAsync(page, "#exceptions tr[data-name=year9-project] form", "project over");
        await Assertions.Expect(page.Locator("#notice")).ToContainTextAsync("ended");
        await console.Browser.ScreenshotAsync("editing-exception-ended.png");
        Assert.Equal(403, await console.PupilGetsWithinAsync(403));
        Assert.Contains("granted_by: ict1", File.ReadAllText(Path.Combine(console.Policy, "policy.yaml")));
    }

    [Fact]
    public async Task MustShow_HostileEntryIsShownEscapedAndRejected_BadEditsShowTheirLocatedDiagnostic_AndChangeNothingOnDisk()
    {
        await using var console = await StartAsync();
        var page = console.Browser.Page;
        var before = console.PolicyBytes();

        // A list entry that is markup: rejected by the list reader, shown as text (the dialog handler fails the test if it runs).
        await page.GotoAsync(console.Service.AdminUrl + "/policy/lists");
        await page.FillAsync("#entry-social", "<script>alert(1)</script>");
        await SubmitAsync(page, "#form-add-social", "test");
        var shown = page.Locator("#form-add-social .diagnostic[data-code=FS0135]");
        await Assertions.Expect(shown).ToContainTextAsync("'<script>alert(1)</script>' is not a valid entry");
        Assert.Equal(0, await page.Locator("main script").CountAsync());
        Assert.Equal("<script>alert(1)</script>", await page.InputValueAsync("#entry-social"));
        await console.Browser.ScreenshotAsync("editing-hostile-entry.png");
        Assert.False(File.Exists(Path.Combine(console.Policy, "lists", "school-social.txt")));

        // An exception naming an unknown role: the loader's located diagnostic next to the role field.
        await page.GotoAsync(console.Service.AdminUrl + "/policy/exceptions");
        await page.FillAsync("#ex-name", "x");
        await page.FillAsync("#ex-role", "pupils");
        await page.SelectOptionAsync("#ex-allow", "social");
        await page.FillAsync("#ex-until", "2099-12-31");
        await page.FillAsync("#ex-why", "x");
        await SubmitAsync(page, "#form-add-exception", "test");
        var role = page.Locator("#ex-role ~ .diagnostic[data-code=PM0103]");
        await Assertions.Expect(role).ToContainTextAsync("unknown role 'pupils'; did you mean 'pupil'?");
        Assert.Matches(@"^policy\.yaml:\d+:\d+: error PM0103: ", await role.InnerTextAsync());
        await console.Browser.ScreenshotAsync("editing-unknown-role.png");
        Assert.Equal(before, console.PolicyBytes());

        // Overlapping windows in a schedule: the diagnostic next to the window's row.
        await page.GotoAsync(console.Service.AdminUrl + "/policy/schedules");
        var lunch = page.Locator("#schedule-lunch form");
        await lunch.Locator("input[name=days]").Nth(1).FillAsync("mon");
        await lunch.Locator("input[name=times]").Nth(1).FillAsync("12:30-14:00");
        await SubmitAsync(page, "#schedule-lunch form", "longer Monday lunch");
        await Assertions.Expect(page.Locator("#schedule-lunch .diagnostic[data-code=PM0305]")).ToContainTextAsync("windows overlap");
        await console.Browser.ScreenshotAsync("editing-overlapping-windows.png");
        Assert.Equal(before, console.PolicyBytes());

        // At 390 px the pages fit the phone.
        await page.SetViewportSizeAsync(390, 844);
        foreach (var path in new[] { "/policy", "/policy/lists", "/policy/exceptions", "/policy/schedules", "/policy/rules", "/policy/denied-users" })
        {
            await page.GotoAsync(console.Service.AdminUrl + path);
            Assert.False(await console.Browser.HasHorizontalScrollAsync(), path);
        }
        await console.Browser.ScreenshotAsync("editing-rules-390.png");
    }

    [Fact]
    public async Task MustShow_APostRemovingAStatutoryEntry_IsRefusedServerSide()
    {
        await using var console = await StartAsync();
        var page = console.Browser.Page;
        var list = Path.Combine(console.Policy, "lists", "terrorism.sha256");
        var before = File.ReadAllBytes(list);
        await page.GotoAsync(console.Service.AdminUrl + "/policy/lists");
        Assert.Equal(0, await page.Locator("#category-terrorism form").CountAsync());

        // The page offers no such form; post one anyway, with a valid antiforgery token, as a crafted request would.
        var result = await page.EvaluateAsync<System.Text.Json.JsonElement>("""
            async () => {
                const token = document.querySelector('input[name=__RequestVerificationToken]').value;
                const body = new URLSearchParams({ __RequestVerificationToken: token, form: 'remove-terrorism', category: 'terrorism', entry: 'blocked-terror.test', reason: 'tidy' });
                const r = await fetch('/policy/lists?handler=Remove', { method: 'POST', body });
                return { status: r.status, body: await r.text() };
            }
            """);

        var (status, body) = (result.GetProperty("status").GetInt32(), result.GetProperty("body").GetString()!);
        Assert.Equal(422, status);
        Assert.Contains("error FS0133: &#x27;terrorism&#x27; is a statutory category; it is read only in the console and cannot be weakened", body);
        Assert.Equal(before, File.ReadAllBytes(list));
    }
}
