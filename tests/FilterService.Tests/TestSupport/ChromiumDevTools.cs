using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// Debian's Chromium (<see cref="Chromium.StartInfo"/>) driven over the DevTools protocol on a loopback WebSocket, for
/// what <c>--dump-dom</c> cannot do: answer the proxy's 407 with a user's credentials (as a signed-in member of staff's
/// browser does), run script in the page (submit a form, fetch), and take a screenshot of the page as it is. One page,
/// one browser per session; the whole session (launch to dispose) is bounded by 60 s.
/// </summary>
public sealed class ChromiumDevTools : IAsyncDisposable
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly ClientWebSocket _socket;
    private readonly CancellationTokenSource _deadline;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode>> _pending = new();
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly NetworkCredential? _credentials;
    private readonly StringBuilder _stderr;
    private Task _receiving = Task.CompletedTask;
    private TaskCompletionSource _loaded = NewSignal();
    private string _session = "";
    private int _nextId;

    private ChromiumDevTools(Process process, ClientWebSocket socket, CancellationTokenSource deadline, NetworkCredential? credentials, StringBuilder stderr)
    {
        _process = process;
        _socket = socket;
        _deadline = deadline;
        _credentials = credentials;
        _stderr = stderr;
    }

    /// <summary>The proxy credentials answered on every 407 (<see cref="LaunchAsync"/>), counted.</summary>
    public int AuthChallenges { get; private set; }

    /// <summary>
    /// Starts Chromium through the proxy at <paramref name="proxyPort"/> (loopback included) on about:blank, with HOME
    /// <paramref name="home"/> (its NSS database) and, when given, <paramref name="credentials"/> for the proxy's 407.
    /// </summary>
    public static async Task<ChromiumDevTools> LaunchAsync(int proxyPort, string? home, NetworkCredential? credentials = null)
    {
        var deadline = new CancellationTokenSource(Budget);
        var psi = Chromium.StartInfo([.. Chromium.ThroughProxy(proxyPort), "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1"], home);
        psi.ArgumentList.Add("about:blank");
        var process = Process.Start(psi)!;
        var stderr = new StringBuilder();
        var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                endpoint.TrySetException(new InvalidOperationException("chromium closed its output"));
                return;
            }
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
            const string prefix = "DevTools listening on ";
            if (e.Data.StartsWith(prefix, StringComparison.Ordinal))
            {
                endpoint.TrySetResult(e.Data[prefix.Length..].Trim());
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var socket = new ClientWebSocket();
        var session = new ChromiumDevTools(process, socket, deadline, credentials, stderr);
        try
        {
            var url = await endpoint.Task.WaitAsync(deadline.Token);
            await socket.ConnectAsync(new Uri(url), deadline.Token);
            session._receiving = session.ReceiveAsync();
            var targets = await session.SendAsync("Target.getTargets", null, browser: true);
            var page = targets["targetInfos"]!.AsArray().First(t => (string?)t!["type"] == "page")!;
            var attached = await session.SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = (string?)page["targetId"], ["flatten"] = true }, browser: true);
            session._session = (string)attached["sessionId"]!;
            await session.SendAsync("Page.enable");
            if (credentials is not null)
            {
                await session.SendAsync("Fetch.enable", new JsonObject { ["handleAuthRequests"] = true, ["patterns"] = new JsonArray(new JsonObject { ["urlPattern"] = "*" }) });
            }
            return session;
        }
        catch (Exception ex)
        {
            await session.DisposeAsync();
            throw new Xunit.Sdk.XunitException($"chromium's DevTools did not start ({ex.Message}): {session.Stderr}");
        }
    }

    private string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Navigates to <paramref name="url"/> and waits for the page's load event.</summary>
    public async Task NavigateAsync(string url)
    {
        _loaded = NewSignal();
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        if (result["errorText"] is { } error)
        {
            throw new Xunit.Sdk.XunitException($"chromium could not navigate to {url}: {error}");
        }
        await WaitForLoadAsync(url);
    }

    /// <summary>Runs <paramref name="script"/> (which navigates: submits a form) and waits for the next page's load event.</summary>
    public async Task NavigateByScriptAsync(string script)
    {
        _loaded = NewSignal();
        await EvaluateAsync(script);
        await WaitForLoadAsync(script);
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page (promises awaited); its value as a string.</summary>
    public async Task<string> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["awaitPromise"] = true, ["returnByValue"] = true });
        if (result["exceptionDetails"] is { } exception)
        {
            throw new Xunit.Sdk.XunitException($"script failed: {exception.ToJsonString()}");
        }
        return result["result"]?["value"]?.ToString() ?? "";
    }

    /// <summary>The page's document as HTML, as <c>--dump-dom</c> prints it.</summary>
    public Task<string> HtmlAsync() => EvaluateAsync("document.documentElement.outerHTML");

    /// <summary>The page's address (after any redirect or form submission).</summary>
    public Task<string> LocationAsync() => EvaluateAsync("location.href");

    /// <summary>Saves a PNG of the page as shown to <paramref name="file"/> (the test output's screenshots folder) and checks it is not empty.</summary>
    public async Task ScreenshotAsync(string file)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        var png = Convert.FromBase64String((string)result["data"]!);
        Assert.True(png.Length > 1000, "the screenshot is empty");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllBytesAsync(file, png);
    }

    /// <summary>The test output's screenshots folder (as the Facebook block-page test uses) and <paramref name="name"/>.</summary>
    public static string ScreenshotPath(string name) => Path.Combine(AppContext.BaseDirectory, "screenshots", name);

    private async Task WaitForLoadAsync(string what)
    {
        try
        {
            await _loaded.Task.WaitAsync(_deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"no page load within the session's 60 s after {what}: {Stderr}");
        }
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null, bool browser = false)
    {
        int id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (!browser)
        {
            message["sessionId"] = _session;
        }
        var reply = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        await _send.WaitAsync(_deadline.Token);
        try
        {
            await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, _deadline.Token);
        }
        finally
        {
            _send.Release();
        }
        try
        {
            return await reply.Task.WaitAsync(_deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"chromium did not answer {method} within the session's 60 s: {Stderr}");
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var part = await _socket.ReceiveAsync(buffer, _deadline.Token);
                if (part.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage)
                {
                    continue;
                }
                var node = JsonNode.Parse(message.ToArray())!;
                message.SetLength(0);
                Dispatch(node);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        foreach (var pending in _pending.Values)
        {
            pending.TrySetException(new InvalidOperationException("the DevTools connection closed"));
        }
    }

    private void Dispatch(JsonNode node)
    {
        if (node["id"] is { } id && _pending.TryRemove((int)id, out var reply))
        {
            if (node["error"] is { } error)
            {
                reply.TrySetException(new InvalidOperationException(error.ToJsonString()));
            }
            else
            {
                reply.TrySetResult(node["result"] ?? new JsonObject());
            }
            return;
        }
        var parameters = node["params"];
        switch ((string?)node["method"])
        {
            case "Page.loadEventFired":
                _loaded.TrySetResult();
                break;
            case "Fetch.requestPaused":
                _ = Reply("Fetch.continueRequest", new JsonObject { ["requestId"] = (string?)parameters!["requestId"] });
                break;
            case "Fetch.authRequired":
                AuthChallenges++;
                _ = Reply("Fetch.continueWithAuth", new JsonObject
                {
                    ["requestId"] = (string?)parameters!["requestId"],
                    ["authChallengeResponse"] = new JsonObject
                    {
                        ["response"] = "ProvideCredentials", ["username"] = _credentials!.UserName, ["password"] = _credentials.Password,
                    },
                });
                break;
        }
    }

    /// <summary>Answers an event without waiting on the receive loop (which must keep reading to see the reply).</summary>
    private Task Reply(string method, JsonObject parameters) => Task.Run(async () =>
    {
        try
        {
            await SendAsync(method, parameters);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Xunit.Sdk.XunitException or OperationCanceledException)
        {
            // A request the page abandoned (a navigation replaced it): nothing left to continue.
        }
    });

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var close = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, close.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        await _process.StopAsync();
        _process.Dispose();
        await _deadline.CancelAsync();
        await _receiving;
        _socket.Dispose();
        _deadline.Dispose();
        _send.Dispose();
    }
}
