using System.Net;
using FilterService.Hosting;
using FilterService.Proxy;

namespace FilterService.Tests.Proxy;

public sealed class UpstreamAddressPolicyTests
{
    private static UpstreamConnector Connector(bool allowLoopback)
    {
        var listeners = new ListenerRegistry();
        listeners.Set([new IPEndPoint(IPAddress.Parse("10.1.2.3"), 3128)], [new IPEndPoint(IPAddress.Loopback, 9090)]);
        return new UpstreamConnector(new ProxyOptions { AllowLoopbackUpstream = allowLoopback }, listeners, TimeProvider.System);
    }

    [Theory]
    [InlineData("93.184.216.34", 80, "None")]
    [InlineData("10.20.0.5", 80, "None")]          // an intranet server is fine
    [InlineData("fd00::5", 443, "None")]
    [InlineData("127.0.0.1", 80, "AddressRefused")]
    [InlineData("127.255.0.1", 80, "AddressRefused")]
    [InlineData("::1", 80, "AddressRefused")]
    [InlineData("::ffff:127.0.0.1", 80, "AddressRefused")]
    [InlineData("0.0.0.0", 80, "AddressRefused")]
    [InlineData("::", 80, "AddressRefused")]
    [InlineData("169.254.169.254", 80, "AddressRefused")] // cloud metadata
    [InlineData("fe80::1", 80, "AddressRefused")]
    [InlineData("224.0.0.1", 80, "AddressRefused")]
    [InlineData("255.255.255.255", 80, "AddressRefused")]
    [InlineData("10.1.2.3", 3128, "Loop")]              // the proxy's own listener
    [InlineData("10.1.2.3", 3129, "None")]
    public void Check_DefaultPolicy(string address, int port, string expected) =>
        Assert.Equal(expected, Connector(false).Check(new IPEndPoint(IPAddress.Parse(address), port)).ToString());

    [Theory]
    [InlineData("::127.0.0.1", "AddressRefused")]            // IPv4-compatible (deprecated)
    [InlineData("::ffff:0:7f00:1", "AddressRefused")]        // IPv4-translated
    [InlineData("64:ff9b::7f00:1", "AddressRefused")]        // NAT64 well-known prefix
    [InlineData("64:ff9b:1::7f00:1", "AddressRefused")]      // NAT64 local-use prefix
    [InlineData("64:ff9b::a9fe:a9fe", "AddressRefused")]     // 169.254.169.254 through NAT64
    [InlineData("2002:7f00:1::1", "AddressRefused")]         // 6to4 of 127.0.0.1
    [InlineData("2002:a9fe:a9fe::1", "AddressRefused")]      // 6to4 of 169.254.169.254
    [InlineData("2001:0:4136:e378:8000:63bf:80ff:fffe", "AddressRefused")] // Teredo, client 127.0.0.1 (inverted)
    [InlineData("::ffff:0:0a01:0203", "None")]               // translated 10.1.2.3, not the listener's port
    [InlineData("64:ff9b::5db8:d822", "None")]               // NAT64 of 93.184.216.34
    [InlineData("2002:5db8:d822::1", "None")]                // 6to4 of 93.184.216.34
    [InlineData("2001:db8::1", "None")]
    public void Item08_IPv6FormsOfAnIPv4_AreJudgedAsThatIPv4(string address, string expected) =>
        Assert.Equal(expected, Connector(false).Check(new IPEndPoint(IPAddress.Parse(address), 80)).ToString());

    [Fact]
    public void Item08_IPv6FormOfTheProxysOwnListener_IsALoop() =>
        Assert.Equal("Loop", Connector(false).Check(new IPEndPoint(IPAddress.Parse("64:ff9b::a01:203"), 3128)).ToString());

    [Fact]
    public void Check_LoopbackAllowed_StillRefusesTheProxyItself()
    {
        var connector = Connector(true);
        Assert.Equal("None", connector.Check(new IPEndPoint(IPAddress.Loopback, 8080)).ToString());
        Assert.Equal("Loop", connector.Check(new IPEndPoint(IPAddress.Loopback, 9090)).ToString());
        Assert.Equal("Loop", connector.Check(new IPEndPoint(IPAddress.Loopback, 3128)).ToString()); // conservative: any local address on a listening port counts as the proxy
    }

    [Fact]
    public void Check_BeforeListenersAreKnown_RefusesEverything()
    {
        var connector = new UpstreamConnector(new ProxyOptions(), new ListenerRegistry(), TimeProvider.System);
        Assert.Equal("Loop", connector.Check(new IPEndPoint(IPAddress.Parse("93.184.216.34"), 80)).ToString());
    }
}
