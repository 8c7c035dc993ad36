using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FilterService.Tests.TestSupport;

/// <summary>A real HTTP receiver on 127.0.0.1 (port 0) that answers 500 to the first <c>failFirst</c> POSTs, then 200.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(int Status, string Body, string? Key)> _requests = new();
    private readonly int _failFirst;

    private WebhookReceiver(WebApplication app, int failFirst)
    {
        _app = app;
        _failFirst = failFirst;
    }

    public Uri Url { get; private set; } = null!;

    public List<(int Status, string Body, string? Key)> Requests
    {
        get
        {
            lock (_requests)
            {
                return _requests.ToList();
            }
        }
    }

    public List<(int Status, string Body, string? Key)> Accepted => Requests.Where(r => r.Status == 200).ToList();

    public static async Task<WebhookReceiver> StartAsync(int failFirst)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, failFirst);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        receiver.Url = new Uri(app.Urls.First() + "/hook");
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        int status;
        lock (_requests)
        {
            status = _requests.Count < _failFirst ? 500 : 200;
            _requests.Add((status, body, context.Request.Headers["Idempotency-Key"].ToString()));
        }
        context.Response.StatusCode = status;
    }

    public async Task<List<(int Status, string Body, string? Key)>> WaitForAsync(Func<List<(int Status, string Body, string? Key)>, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var r = Requests;
            if (done(r))
            {
                return r;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"webhook: {what} not seen within {timeout}; got {r.Count} request(s): " + string.Join(", ", r.Select(x => x.Status)));
            }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
