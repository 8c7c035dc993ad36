using System.Net;
using System.Net.Sockets;
using FilterService.Hosting;

namespace FilterService.Proxy;

/// <summary>Why an upstream connection was not made.</summary>
internal enum UpstreamError
{
    None,
    /// <summary>502: the name does not resolve.</summary>
    NameNotResolved,
    /// <summary>403: every address the name resolves to is forbidden (loopback, link-local, the proxy itself...).</summary>
    AddressRefused,
    /// <summary>403: the address is this proxy's own listener (a forwarding loop).</summary>
    Loop,
    /// <summary>502: the connection was refused or reset.</summary>
    ConnectFailed,
    /// <summary>504: resolving or connecting took longer than <c>Proxy:UpstreamConnectTimeout</c>.</summary>
    Timeout,
}

/// <summary>Thrown from the HttpClient connect callback so the forwarding stage can tell why.</summary>
internal sealed class UpstreamConnectException(UpstreamError error, string message) : Exception(message)
{
    public UpstreamError Error => error;
}

/// <summary>
/// Resolves and connects upstream for both tunnels and forwarded requests, applying the address policy to the
/// resolved IP, never to the string the client sent: <c>127.1</c>, <c>2130706433</c> and <c>0x7f.1</c> all reach
/// loopback. Refused: unspecified, broadcast, multicast, link-local (cloud metadata lives there), loopback unless
/// <c>Proxy:AllowLoopbackUpstream</c>, and this process's own listeners whatever the setting.
/// </summary>
internal sealed class UpstreamConnector
{
    private readonly ProxyOptions _options;
    private readonly ListenerRegistry _listeners;
    private readonly Dictionary<string, IPEndPoint> _overrides;

    public UpstreamConnector(ProxyOptions options, ListenerRegistry listeners)
    {
        _options = options;
        _listeners = listeners;
        _overrides = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (host, target) in options.HostOverrides)
        {
            if (ServiceOptions.TryParseEndPoint(target, out var ep))
            {
                _overrides[host] = ep;
            }
        }
    }

    /// <summary>Whether the proxy may connect to <paramref name="target"/>: None, AddressRefused or Loop.</summary>
    public UpstreamError Check(IPEndPoint target)
    {
        var a = target.Address.IsIPv4MappedToIPv6 ? target.Address.MapToIPv4() : target.Address;
        if (_listeners.IsSelf(new IPEndPoint(a, target.Port)))
        {
            return UpstreamError.Loop;
        }
        return IsAllowedAddress(a) ? UpstreamError.None : UpstreamError.AddressRefused;
    }

    private bool IsAllowedAddress(IPAddress a)
    {
        if (a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any) || a.Equals(IPAddress.Broadcast) || a.Equals(IPAddress.IPv6None))
        {
            return false;
        }
        if (IPAddress.IsLoopback(a))
        {
            return _options.AllowLoopbackUpstream;
        }
        if (a.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            a.TryWriteBytes(b, out _);
            return b[0] != 0 && b[0] < 224 && !(b[0] == 169 && b[1] == 254);
        }
        return !a.IsIPv6LinkLocal && !a.IsIPv6Multicast && !a.IsIPv6SiteLocal && !a.IsIPv4MappedToIPv6;
    }

    /// <summary>Resolves and connects; on success the socket is connected and owned by the caller.</summary>
    public async ValueTask<(Socket? Socket, UpstreamError Error, IPEndPoint? Remote)> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_options.UpstreamConnectTimeout);
        IPEndPoint[] candidates;
        try
        {
            if (_overrides.TryGetValue(host, out var overridden))
            {
                candidates = [new IPEndPoint(overridden.Address, overridden.Port == 0 ? port : overridden.Port)];
            }
            else if (IPAddress.TryParse(host, out var literal))
            {
                candidates = [new IPEndPoint(literal, port)];
            }
            else
            {
                var addresses = await Dns.GetHostAddressesAsync(host, cts.Token).ConfigureAwait(false);
                candidates = addresses.Select(a => new IPEndPoint(a, port)).ToArray();
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, UpstreamError.Timeout, null);
        }
        catch (SocketException)
        {
            return (null, UpstreamError.NameNotResolved, null);
        }
        if (candidates.Length == 0)
        {
            return (null, UpstreamError.NameNotResolved, null);
        }
        var allowed = candidates.Where(c => Check(c) == UpstreamError.None).ToArray();
        if (allowed.Length == 0)
        {
            return (null, Check(candidates[0]), candidates[0]);
        }
        var error = UpstreamError.ConnectFailed;
        foreach (var ep in allowed)
        {
            var socket = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(ep, cts.Token).ConfigureAwait(false);
                return (socket, UpstreamError.None, ep);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                return (null, UpstreamError.Timeout, ep);
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        return (null, error, allowed[0]);
    }
}
