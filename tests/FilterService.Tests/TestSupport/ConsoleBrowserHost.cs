using Microsoft.Playwright;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// One Playwright driver and one Chromium for a whole test class, started at the first <see cref="NewAsync"/> and closed
/// when the class ends (an <c>IClassFixture</c>): starting both costs a second or two, and a console test signs in two or
/// three times. Each <see cref="NewAsync"/> is a new browser context, with its own cookies, storage and cache, so the
/// sign-ins are as separate as they were with a Chromium each. Chromium is started with <see cref="ConsoleBrowser"/>'s
/// flags and no proxy: a test whose browser goes through the filter (other launch arguments) launches its own
/// (<see cref="ConsoleBrowser.LaunchAsync"/>). xunit runs a class's tests one at a time; the lock only keeps a second
/// caller from starting a second Chromium.
/// </summary>
/// <example>
/// <code>
/// public sealed class HistoryConsoleTests(ConsoleBrowserHost browsers) : IClassFixture&lt;ConsoleBrowserHost&gt;
/// {
///     [Fact]
///     public async Task Revert()
///     {
///         await using var browser = await browsers.NewAsync();
///         await browser.SignInAsync(service.AdminUrl, "jo", AdminAccounts.Password);
///     }
/// }
/// </code>
/// </example>
public sealed class ConsoleBrowserHost : IAsyncLifetime, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>
    /// A new context and page, <paramref name="width"/> x <paramref name="height"/> (390 for a phone), in the shared
    /// Chromium; HTTPS errors ignored only when <paramref name="ignoreHttpsErrors"/>. Disposing it closes the context
    /// only. A Chromium that has gone (crashed) is started again, so one test's crash does not fail the next.
    /// </summary>
    public async Task<ConsoleBrowser> NewAsync(int width = 1200, int height = 900, bool ignoreHttpsErrors = false)
    {
        var browser = await BrowserAsync();
        return await ConsoleBrowser.OpenAsync(null, browser, width, height, ignoreHttpsErrors);
    }

    private async Task<IBrowser> BrowserAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_browser is { IsConnected: true })
            {
                return _browser;
            }
            await CloseAsync();
            (_playwright, _browser) = await ConsoleBrowser.StartChromiumAsync(proxyPort: null);
            return _browser;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CloseAsync()
    {
        if (_browser is not null)
        {
            await ConsoleBrowser.CloseQuietlyAsync(_browser);
            _browser = null;
        }
        _playwright?.Dispose();
        _playwright = null;
    }

    /// <summary>Nothing to do: Chromium starts at the first <see cref="NewAsync"/>, so a class whose tests all fail before signing in starts none.</summary>
    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Closes Chromium (with any context left open) and the driver; safe to call twice.</summary>
    public async Task DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            await CloseAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());
}
