using Microsoft.Playwright;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// Real Chromium (Debian's <c>/usr/bin/chromium</c>) driven by Microsoft.Playwright, for the console's end-to-end
/// tests. Playwright's bundled driver (node, copied beside the tests) runs offline: nothing is downloaded, the browser
/// is the system's. Headless; Playwright adds <c>--no-sandbox</c> (needed as root). One context and one page per
/// instance, in a browser of its own (<see cref="LaunchAsync"/>) or in the one Chromium its test class shares
/// (<see cref="ConsoleBrowserHost.NewAsync"/>); dispose it (<c>await using</c>).
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
    // Null when a ConsoleBrowserHost lent the browser: then this instance owns only its context.
    private readonly IPlaywright? _playwright;
    private readonly IBrowser? _browser;

    private ConsoleBrowser(IPlaywright? playwright, IBrowser? browser, IBrowserContext context, IPage page)
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
    /// The instance owns its Playwright driver and its Chromium; a class with several sign-ins and no proxy shares one
    /// Chromium instead (<see cref="ConsoleBrowserHost"/>).
    /// </summary>
    public static async Task<ConsoleBrowser> LaunchAsync(int width = 1200, int height = 900, int? proxyPort = null, bool ignoreHttpsErrors = false)
    {
        var (playwright, browser) = await StartChromiumAsync(proxyPort);
        try
        {
            return await OpenAsync(playwright, browser, width, height, ignoreHttpsErrors);
        }
        catch
        {
            await CloseQuietlyAsync(browser);
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Playwright's driver and a headless Chromium with this class's flags (and <see cref="Chromium.ThroughProxy"/> with
    /// <paramref name="proxyPort"/>): the one launch that <see cref="LaunchAsync"/> and <see cref="ConsoleBrowserHost"/>
    /// both make, so a shared Chromium is started exactly as a test's own would be.
    /// </summary>
    internal static async Task<(IPlaywright Playwright, IBrowser Browser)> StartChromiumAsync(int? proxyPort)
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
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A new context and page in <paramref name="browser"/>: a new context has its own cookies, storage and cache, as a
    /// new browser has, so two sign-ins in one Chromium are as separate as two Chromiums. With <paramref name="playwright"/>
    /// the instance owns the browser and the driver too (<see cref="LaunchAsync"/>); without, only the context
    /// (<see cref="ConsoleBrowserHost.NewAsync"/>).
    /// </summary>
    internal static async Task<ConsoleBrowser> OpenAsync(IPlaywright? playwright, IBrowser browser, int width, int height, bool ignoreHttpsErrors)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            IgnoreHTTPSErrors = ignoreHttpsErrors,
            Locale = "en-GB",
        });
        try
        {
            context.SetDefaultTimeout(30_000);
            context.SetDefaultNavigationTimeout(30_000);
            var page = await context.NewPageAsync();
            return new ConsoleBrowser(playwright, playwright is null ? null : browser, context, page);
        }
        catch
        {
            await CloseQuietlyAsync(context);
            throw;
        }
    }

    /// <summary>Closes <paramref name="browser"/>, ignoring a browser that has already gone (crashed or killed).</summary>
    internal static async Task CloseQuietlyAsync(IBrowser browser)
    {
        try
        {
            await browser.CloseAsync();
        }
        catch (PlaywrightException)
        {
        }
    }

    /// <summary>Closes <paramref name="context"/>, ignoring one whose browser has already gone, so the first failure is the one reported.</summary>
    private static async Task CloseQuietlyAsync(IBrowserContext context)
    {
        try
        {
            await context.CloseAsync();
        }
        catch (PlaywrightException)
        {
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
        await ClickAndWaitForLoadAsync(Page, Page.Locator("button[type=submit]"));
        if (new Uri(Page.Url).AbsolutePath == "/signin")
        {
            var message = await Page.Locator(".error").AllInnerTextsAsync();
            throw new Xunit.Sdk.XunitException($"sign-in as {user} refused: {string.Join(" ", message)}");
        }
    }

    /// <summary>
    /// Clicks <paramref name="target"/> (a submit button, a link) and waits for the document it leads to to fire its
    /// load event. The handler is attached before the click, so the event cannot be missed, and the page loaded before
    /// the click has fired its own already. <c>WaitForLoadStateAsync</c> after a click is racy both ways: it returns at
    /// once while the old document is still current, and it can miss the new one's event and wait its full 30 s
    /// (microsoft/playwright-dotnet#3364); both were seen here, about one console run in five.
    /// </summary>
    public static async Task ClickAndWaitForLoadAsync(IPage page, ILocator target)
    {
        var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLoad(object? sender, IPage p) => loaded.TrySetResult();
        page.Load += OnLoad;
        try
        {
            await target.ClickAsync();
            await loaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"clicking {target} at {page.Url} loaded no new page within 30 s");
        }
        finally
        {
            page.Load -= OnLoad;
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

    /// <summary>Closes the context (its pages, cookies and downloads); and the browser and driver when this instance launched them.</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseQuietlyAsync(Context);
        if (_browser is not null)
        {
            await CloseQuietlyAsync(_browser);
        }
        _playwright?.Dispose();
    }
}
