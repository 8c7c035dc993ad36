using Microsoft.Playwright;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// Real Chromium (Debian's <c>/usr/bin/chromium</c>) driven by Microsoft.Playwright, for the console's end-to-end
/// tests. Playwright's bundled driver (node, copied beside the tests) runs offline: nothing is downloaded, the browser
/// is the system's. Headless; Playwright adds <c>--no-sandbox</c> (needed as root). One browser, one context, one
/// page per instance; dispose it (<c>await using</c>).
/// </summary>
/// <example>
/// <code>
/// await using var service = await ServiceProcess.StartAsync(settings);
/// await AdminAccounts.AddAsync(settings, "jo", "ict-manager");
/// await using var browser = await ConsoleBrowser.LaunchAsync();
/// await browser.SignInAsync(service.AdminUrl, "jo", AdminAccounts.Password);
/// await browser.Page.GotoAsync(service.AdminUrl + "/history");
/// await Assertions.Expect(browser.Page.Locator("h1")).ToHaveTextAsync("History");
/// await browser.ScreenshotAsync("history.png");
/// </code>
/// </example>
public sealed class ConsoleBrowser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private ConsoleBrowser(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Context = context;
        Page = page;
    }

    /// <summary>The page: use it directly (<c>GotoAsync</c>, <c>Locator</c>, <c>FillAsync</c>, <c>ClickAsync</c>, ...). Actions wait at most 30 s.</summary>
    public IPage Page { get; }

    /// <summary>The browser context (its cookies: <c>Context.CookiesAsync()</c>).</summary>
    public IBrowserContext Context { get; }

    /// <summary>
    /// Starts Chromium with a <paramref name="width"/> x <paramref name="height"/> viewport (390 for a phone). With
    /// <paramref name="proxyPort"/> every request (loopback included) goes through the filter at that port; without it,
    /// straight to the console. HTTPS errors are ignored only when <paramref name="ignoreHttpsErrors"/> (a test certificate).
    /// </summary>
    public static async Task<ConsoleBrowser> LaunchAsync(int width = 1200, int height = 900, int? proxyPort = null, bool ignoreHttpsErrors = false)
    {
        if (!File.Exists(Chromium.Path))
        {
            throw new Xunit.Sdk.XunitException($"{Chromium.Path} is not installed: run .ci/install-deps (apt-get install chromium)");
        }
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium.Path,
                Headless = true,
                ChromiumSandbox = false, // --no-sandbox: tests run as root
                Timeout = 60_000,
                Args = ["--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
                    .. proxyPort is { } p ? Chromium.ThroughProxy(p) : []],
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = width, Height = height },
                IgnoreHTTPSErrors = ignoreHttpsErrors,
                Locale = "en-GB",
            });
            context.SetDefaultTimeout(30_000);
            context.SetDefaultNavigationTimeout(30_000);
            var page = await context.NewPageAsync();
            return new ConsoleBrowser(playwright, browser, context, page);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Signs in at <paramref name="baseUrl"/> (the admin endpoint, <c>http://127.0.0.1:PORT</c>) and waits for the home
    /// page; fails the test with the page's message when the sign-in is refused.
    /// </summary>
    public async Task SignInAsync(string baseUrl, string user, string password)
    {
        await Page.GotoAsync(baseUrl.TrimEnd('/') + "/signin");
        await Page.FillAsync("#user", user);
        await Page.FillAsync("#password", password);
        await Page.ClickAsync("button[type=submit]");
        await Page.WaitForLoadStateAsync(LoadState.Load);
        if (new Uri(Page.Url).AbsolutePath == "/signin")
        {
            var message = await Page.Locator(".error").AllInnerTextsAsync();
            throw new Xunit.Sdk.XunitException($"sign-in as {user} refused: {string.Join(" ", message)}");
        }
    }

    /// <summary>Whether the page is wider than the viewport (a horizontal scroll bar): the console must have none at 390 px.</summary>
    public Task<bool> HasHorizontalScrollAsync() =>
        Page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > document.documentElement.clientWidth");

    /// <summary>Saves a full-page screenshot as <paramref name="name"/> (e.g. <c>console-home.png</c>) under the test output's screenshots/ folder; returns the path.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var path = ScreenshotPath(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    /// <summary>Where <see cref="ScreenshotAsync"/> writes <paramref name="name"/> (as <see cref="ChromiumDevTools.ScreenshotPath"/>).</summary>
    public static string ScreenshotPath(string name) => ChromiumDevTools.ScreenshotPath(name);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Context.CloseAsync();
            await _browser.CloseAsync();
        }
        catch (PlaywrightException)
        {
        }
        _playwright.Dispose();
    }
}
