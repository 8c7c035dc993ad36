using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin.History;

/// <summary>Issue 18 end to end: the service as its own process, real Chromium: a hand edit in the history, reverted in the console; an auditor's revert refused.</summary>
public sealed class HistoryConsoleTests(ConsoleBrowserHost browsers) : IClassFixture<ConsoleBrowserHost>
{
    [Fact]
    public async Task HandEdit_ShowsInTheHistory_IctManagerRevertsIt_AuditorsRevertIsRefused()
    {
        var policy = Samples.CopyDefault();
        var audit = TempDir.Create("audit");
        string[] settings = [$"--Policy:Path={policy}", $"--Audit:Path={audit}", "--Policy:Watch=true"]; // the hand edit is seen by the watcher, as deployed
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        await AdminAccounts.AddAsync(settings, "ann", "auditor");
        using var http = new HttpClient();
        async Task<string> VersionAsync() => JsonDocument.Parse(await http.GetStringAsync(service.AdminUrl + "/health")).RootElement.GetProperty("policy").GetProperty("version").GetString()!;
        var original = File.ReadAllText(Path.Combine(policy, "policy.yaml"));
        var version = await VersionAsync();

        File.WriteAllText(Path.Combine(policy, "policy.yaml"), "# <b>hand edit</b> by the network manager\n" + original);

        await using var browser = await browsers.NewAsync();
        await browser.SignInAsync(service.AdminUrl, "jo", AdminAccounts.Password);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await browser.Page.GotoAsync(service.AdminUrl + "/history");
        }
        while (!(await browser.Page.Locator("#history td.source").AllInnerTextsAsync()).Contains("file-edit") && DateTime.UtcNow < deadline && await Delay());
        var sources = await browser.Page.Locator("#history td.source").AllInnerTextsAsync();
        Assert.True(sources.SequenceEqual(["file-edit", "baseline"]), string.Join(",", sources) + " " + await http.GetStringAsync(service.AdminUrl + "/health"));
        await browser.ScreenshotAsync("history-list.png");

        await browser.Page.GotoAsync(service.AdminUrl + "/history/2");
        Assert.Equal("file edit", (await browser.Page.Locator("#who").InnerTextAsync()).Trim());
        Assert.Contains("+# <b>hand edit</b> by the network manager", await browser.Page.Locator("pre.diff .add").First.InnerTextAsync()); // escaped, shown as text
        await browser.ScreenshotAsync("history-entry-file-edit.png");

        // The auditor sees no revert, and a revert POST made anyway (with a valid antiforgery token) is refused: 403.
        await using (var auditor = await browsers.NewAsync())
        {
            await auditor.SignInAsync(service.AdminUrl, "ann", AdminAccounts.Password);
            await auditor.Page.GotoAsync(service.AdminUrl + "/history/2");
            Assert.Equal(0, await auditor.Page.Locator("#revert").CountAsync());
            var status = await auditor.Page.EvaluateAsync<int>("""
                async () => {
                  const token = document.querySelector('input[name=__RequestVerificationToken]').value;
                  const body = new URLSearchParams({ reason: 'auditor tries', __RequestVerificationToken: token });
                  return (await fetch('/history/2?handler=revert', { method: 'POST', body })).status;
                }
                """);
            Assert.Equal(403, status);
            await auditor.ScreenshotAsync("history-entry-auditor.png");
        }
        Assert.StartsWith("# <b>hand edit</b>", File.ReadAllText(Path.Combine(policy, "policy.yaml")));

        await browser.Page.FillAsync("#reason", "not agreed with the DSL");
        await browser.Page.ClickAsync("#revert");
        await browser.Page.WaitForURLAsync(service.AdminUrl + "/history/3");
        Assert.Equal("revert of entry 2", (await browser.Page.Locator("#source").InnerTextAsync()).Trim());
        Assert.Contains("-# <b>hand edit</b> by the network manager", await browser.Page.Locator("pre.diff .del").First.InnerTextAsync());
        await browser.ScreenshotAsync("history-entry-revert.png");

        Assert.Equal(original, File.ReadAllText(Path.Combine(policy, "policy.yaml")));
        Assert.Equal(version, await VersionAsync());
        await browser.Page.GotoAsync(service.AdminUrl + "/history");
        Assert.Equal(["revert", "file-edit", "baseline"], await browser.Page.Locator("#history td.source").AllInnerTextsAsync());
        await browser.ScreenshotAsync("history-list-after-revert.png");
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(300);
        return true;
    }
}
