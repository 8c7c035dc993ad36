using System.Collections.Immutable;
using System.Net;

namespace FilterService.Proxy;

/// <summary>The endpoints this process actually listens on, known once Kestrel has bound them (port 0 included).</summary>
internal sealed class ListenerRegistry
{
    private ImmutableArray<IPEndPoint> _proxy = [];
    private ImmutableArray<IPEndPoint> _admin = [];
    private volatile bool _ready;

    public ImmutableArray<IPEndPoint> Proxy => _proxy;
    public ImmutableArray<IPEndPoint> Admin => _admin;

    public void Set(IEnumerable<IPEndPoint> proxy, IEnumerable<IPEndPoint> admin)
    {
        _proxy = proxy.ToImmutableArray();
        _admin = admin.ToImmutableArray();
        _ready = true;
    }

    /// <summary>Whether connecting to <paramref name="target"/> would reach this process (a forwarding loop).</summary>
    public bool IsSelf(IPEndPoint target)
    {
        if (!_ready)
        {
            return true; // before the ports are known nothing can be told apart: fail closed
        }
        foreach (var ep in _proxy.AsSpan())
        {
            if (Matches(ep, target))
            {
                return true;
            }
        }
        foreach (var ep in _admin.AsSpan())
        {
            if (Matches(ep, target))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Matches(IPEndPoint listener, IPEndPoint target)
    {
        if (listener.Port != target.Port)
        {
            return false;
        }
        var address = target.Address.IsIPv4MappedToIPv6 ? target.Address.MapToIPv4() : target.Address;
        return listener.Address.Equals(address) || listener.Address.Equals(IPAddress.Any) || listener.Address.Equals(IPAddress.IPv6Any)
            || IPAddress.IsLoopback(address) || IsLocalAddress(address);
    }

    private static bool IsLocalAddress(IPAddress address)
    {
        try
        {
            foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (var ua in nic.GetIPProperties().UnicastAddresses)
                {
                    if (ua.Address.Equals(address))
                    {
                        return true;
                    }
                }
            }
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return true; // cannot tell: fail closed
        }
        return false;
    }
}
