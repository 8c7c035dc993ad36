using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Admin;

/// <summary>The console end to end: the service as its own process, an account from the CLI, real Chromium.</summary>
public sealed class ConsoleSignInTests
{
    private static string[] Settings(string audit) => [$"--Policy:Path={RepoPaths.Sample("default")}", $"--Audit:Path={audit}"];

    [Fact]
    public async Task An_ict_manager_added_by_the_cli_signs_in_in_Chromium_and_sees_the_policy_version()
    {
        var audit = TempDir.Create("audit");
        var settings = Settings(audit);
        await using var service = await ServiceProcess.StartAsync(settings);
        await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
        using var http = new HttpClient();
        var health = JsonDocument.Parse(await http.GetStringAsync(service.AdminUrl + "/health")).RootElement;
        var version = health.GetProperty("policy").GetProperty("version").GetString()!;

        await using var browser = await ConsoleBrowser.LaunchAsync();
        await browser.Page.GotoAsync(service.AdminUrl + "/");
        Assert.Equal("/signin", new Uri(browser.Page.Url).AbsolutePath); // not signed in: sent to the sign-in page
        await browser.ScreenshotAsync("console-signin.png");
        await browser.SignInAsync(service.AdminUrl, "jo", AdminAccounts.Password);
        Assert.Equal("/", new Uri(browser.Page.Url).AbsolutePath);
        Assert.Equal(version, (await browser.Page.Locator("#policy-version").InnerTextAsync()).Trim());
        Assert.Contains("jo (ict-manager)", await browser.Page.Locator("header").InnerTextAsync());
        Assert.Equal("rgb(23, 50, 79)", await browser.Page.Locator("header").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor")); // the CSS loaded
        Assert.True(File.Exists(await browser.ScreenshotAsync("console-home.png")));

        await browser.Page.SetViewportSizeAsync(390, 844);
        await browser.Page.ReloadAsync();
        Assert.False(await browser.HasHorizontalScrollAsync());
        await browser.ScreenshotAsync("console-home-390.png");

        // /metrics and /health still answer without sign-in.
        Assert.Contains("filterservice_policy_reloads_total", await http.GetStringAsync(service.AdminUrl + "/metrics"));

        var lines = await AuditLinesAsync(audit, "console-sign-in", 1);
        var line = Assert.Single(lines);
        Assert.Equal(("jo", "ok", "127.0.0.1"), (line.GetProperty("admin").GetString(), line.GetProperty("outcome").GetString(), line.GetProperty("client").GetString()));
        Assert.DoesNotContain(AdminAccounts.Password, File.ReadAllText(Directory.GetFiles(audit, "audit-*.json").Single()));
    }

    /// <summary>The audit file's lines whose event is <paramref name="eventName"/>, waiting (at most 20 s) for <paramref name="count"/> of them.</summary>
    internal static async Task<List<JsonElement>> AuditLinesAsync(string audit, string eventName, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var lines = Directory.GetFiles(audit, "audit-*.json").SelectMany(File.ReadAllLines)
                .Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.TryGetProperty("event", out var ev) && ev.GetString() == eventName).ToList();
            if (lines.Count >= count || DateTime.UtcNow > deadline)
            {
                return lines;
            }
            await Task.Delay(200);
        }
    }
}
