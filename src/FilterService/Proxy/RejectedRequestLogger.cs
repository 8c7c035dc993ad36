using System.Collections.Concurrent;
using System.Net;

namespace FilterService.Proxy;

/// <summary>
/// Requests that Kestrel's HTTP parser refuses (bare LF, oversized or trickled heads, bad framing) never reach
/// the HTTP stage, so they would go unrecorded. Kestrel reports each one as a log event
/// (<c>Microsoft.AspNetCore.Server.Kestrel.BadRequests</c>, ConnectionBadRequest) carrying the connection id and a
/// BadHttpRequestException with the status it answered; this provider turns those events into audit records,
/// using the connection id to client address map the ConnectMiddleware keeps.
/// </summary>
internal sealed class RejectedRequestLogger : ILoggerProvider, ILogger
{
    public const string Category = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";

    private readonly ConcurrentDictionary<string, IPAddress> _connections = new();
    private ProxyServices? _proxy;

    public void Attach(ProxyServices proxy) => _proxy = proxy;

    public void ConnectionStarted(string connectionId, IPAddress client) => _connections[connectionId] = client;

    public void ConnectionEnded(string connectionId) => _connections.TryRemove(connectionId, out _);

    public ILogger CreateLogger(string categoryName) => categoryName == Category ? this : NullLoggerInstance;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (_proxy is not { } proxy || exception is not BadHttpRequestException bad || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            return;
        }
        string? connectionId = null;
        foreach (var (key, value) in values)
        {
            if (key == "ConnectionId")
            {
                connectionId = value as string;
            }
        }
        if (connectionId is null || !_connections.TryGetValue(connectionId, out var client))
        {
            return; // not a proxy connection (the admin endpoint)
        }
        string rule = bad.StatusCode switch
        {
            431 or 414 => "head-too-large",
            408 => "head-timeout",
            _ => "malformed-request",
        };
        proxy.Observe(proxy.Begin(client).Refused("-", "-", rule, bad.StatusCode));
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public void Dispose()
    {
    }

    private static readonly ILogger NullLoggerInstance = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
}
