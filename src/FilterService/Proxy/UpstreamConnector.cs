using System.Net;
using System.Net.Sockets;

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
/// loopback, and an IPv6 address that embeds an IPv4 one (<see cref="EmbeddedIPv4"/>) is judged as that IPv4. Refused: unspecified, broadcast, multicast, link-local (cloud metadata lives there), loopback unless
/// <c>Proxy:AllowLoopbackUpstream</c>, and this process's own listeners whatever the setting.
/// </summary>
internal sealed class UpstreamConnector
{
    private readonly ProxyOptions _options;
    private readonly ListenerRegistry _listeners;
    private readonly Dictionary<string, IPEndPoint> _overrides;
    private readonly TimeProvider _time;

    /// <param name="time">The clock the connect deadline (<see cref="ProxyOptions.UpstreamConnectTimeout"/>) runs on.</param>
    public UpstreamConnector(ProxyOptions options, ListenerRegistry listeners, TimeProvider time)
    {
        _options = options;
        _listeners = listeners;
        _time = time;
        _overrides = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (host, target) in options.HostOverrides)
        {
            if (Runtime.EndPointText.TryParse(target, out var ep))
            {
                _overrides[host] = ep;
            }
        }
    }

    /// <summary>Whether the proxy may connect to <paramref name="target"/>: None, AddressRefused or Loop.</summary>
    public UpstreamError Check(IPEndPoint target)
    {
        var a = EmbeddedIPv4(target.Address) ?? target.Address;
        if (_listeners.IsSelf(new IPEndPoint(a, target.Port)))
        {
            return UpstreamError.Loop;
        }
        return IsAllowedAddress(a) ? UpstreamError.None : UpstreamError.AddressRefused;
    }

    private bool IsAllowedAddress(IPAddress a)
    {
        // An IPv6 address that carries an IPv4 one (translated, NAT64, IPv4-compatible, 6to4, Teredo) reaches that IPv4
        // through a translator or tunnel, so it is allowed only where its IPv4 would be (and the compatible form, which
        // nothing routes, never): [64:ff9b::7f00:1] is 127.0.0.1 to a NAT64 gateway.
        if (EmbeddedIPv4(a) is { } embedded)
        {
            return IsAllowedAddress(embedded);
        }
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
        return !a.IsIPv6LinkLocal && !a.IsIPv6Multicast && !a.IsIPv6SiteLocal;
    }

    /// <summary>
    /// The IPv4 address an IPv6 address embeds, or null: IPv4-mapped <c>::ffff:0:0/96</c>, IPv4-translated
    /// <c>::ffff:0:0:0/96</c> (RFC 2765), IPv4-compatible <c>::/96</c> (deprecated, RFC 4291 2.5.5.1; <c>::</c> and
    /// <c>::1</c> excluded), the NAT64 prefixes <c>64:ff9b::/96</c> (RFC 6052) and <c>64:ff9b:1::/48</c> (RFC 8215, the
    /// IPv4 in the last 32 bits), 6to4 <c>2002::/16</c> (RFC 3056, bits 16-47) and Teredo <c>2001::/32</c> (RFC 4380, the
    /// client's IPv4 inverted in the last 32 bits).
    /// </summary>
    internal static IPAddress? EmbeddedIPv4(IPAddress a)
    {
        if (a.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return null;
        }
        Span<byte> b = stackalloc byte[16];
        a.TryWriteBytes(b, out _);
        static bool Zero(ReadOnlySpan<byte> s) => !s.ContainsAnyExcept((byte)0);
        var last = b[12..];
        if (Zero(b[..10]) && b[10] == 0xff && b[11] == 0xff)
        {
            return new IPAddress(last); // mapped
        }
        if (Zero(b[..8]) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
        {
            return new IPAddress(last); // translated
        }
        if (Zero(b[..12]) && !(Zero(last[..3]) && last[3] <= 1))
        {
            return new IPAddress(last); // compatible (:: and ::1 are themselves)
        }
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && (Zero(b[4..12]) || (b[4] == 0 && b[5] == 1)))
        {
            return new IPAddress(last); // NAT64, well-known and local-use prefixes
        }
        if (b[0] == 0x20 && b[1] == 0x02)
        {
            return new IPAddress(b[2..6]); // 6to4
        }
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        {
            Span<byte> client = stackalloc byte[4];
            for (int i = 0; i < 4; i++)
            {
                client[i] = (byte)~last[i];
            }
            return new IPAddress(client); // Teredo
        }
        return null;
    }

    /// <summary>
    /// The candidate endpoints when they are known without a lookup: a host override or an address literal. False
    /// when the name must be resolved (<see cref="ResolveAsync"/>).
    /// </summary>
    public bool TryResolveInline(string host, int port, out IPEndPoint[] candidates)
    {
        if (_overrides.TryGetValue(host, out var overridden))
        {
            candidates = [new IPEndPoint(overridden.Address, overridden.Port == 0 ? port : overridden.Port)];
            return true;
        }
        if (IPAddress.TryParse(host, out var literal))
        {
            candidates = [new IPEndPoint(literal, port)];
            return true;
        }
        candidates = [];
        return false;
    }

    /// <summary>Resolves the name: the candidates, or NameNotResolved, or Timeout when <paramref name="cancellationToken"/> fires.</summary>
    public async ValueTask<(IPEndPoint[] Candidates, UpstreamError Error)> ResolveAsync(string host, int port, CancellationToken cancellationToken)
    {
        if (TryResolveInline(host, port, out var known))
        {
            return (known, UpstreamError.None);
        }
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            return addresses.Length == 0 ? ([], UpstreamError.NameNotResolved) : (addresses.Select(a => new IPEndPoint(a, port)).ToArray(), UpstreamError.None);
        }
        catch (OperationCanceledException)
        {
            return ([], UpstreamError.Timeout);
        }
        catch (SocketException)
        {
            return ([], UpstreamError.NameNotResolved);
        }
    }

    /// <summary>
    /// The candidates the address policy allows, in order. When none is allowed, the error for the first one
    /// (AddressRefused or Loop) and that endpoint, for the refusal's record.
    /// </summary>
    public (IPEndPoint[] Allowed, UpstreamError Error, IPEndPoint? Refused) Allow(IPEndPoint[] candidates)
    {
        var allowed = Array.FindAll(candidates, c => Check(c) == UpstreamError.None);
        return allowed.Length > 0 || candidates.Length == 0 ? (allowed, UpstreamError.None, null) : (allowed, Check(candidates[0]), candidates[0]);
    }

    /// <summary>Resolves and connects; on success the socket is connected and owned by the caller.</summary>
    public async ValueTask<(Socket? Socket, UpstreamError Error, IPEndPoint? Remote)> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.UpstreamConnectTimeout, _time);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var (candidates, resolveError) = await ResolveAsync(host, port, cts.Token).ConfigureAwait(false);
        if (resolveError != UpstreamError.None)
        {
            // A cancelled lookup is the connect timeout unless the caller itself gave up.
            cancellationToken.ThrowIfCancellationRequested();
            return (null, resolveError, null);
        }
        var (allowed, refused, refusedAt) = Allow(candidates);
        if (allowed.Length == 0)
        {
            return (null, refused, refusedAt);
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
