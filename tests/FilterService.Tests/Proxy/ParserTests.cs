using System.Buffers;
using System.Net.Security;
using System.Text;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

public sealed class ConnectHeadParserTests
{
    private static HeadError Parse(string text, out ConnectHead? head) =>
        ConnectHeadParser.TryParse(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)), 32 * 1024, out head);

    [Fact]
    public void Parse_WellFormed_ReturnsAuthorityCredentialsAndLength()
    {
        const string text = "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\nProxy-Authorization: Basic abc\r\n\r\n";
        Assert.Equal(HeadError.None, Parse(text + "\x16\x03\x01", out var head));
        Assert.Equal("example.org:443", head!.Authority);
        Assert.Equal("Basic abc", head.ProxyAuthorization);
        Assert.Equal(text.Length, head.Length);
    }

    [Theory]
    [InlineData("CONNECT example.org:443 HTTP/1.1\nHost: x\r\n\r\n", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost : x\r\n\r\n", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "BodyNotAllowed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "BodyNotAllowed")]
    [InlineData("CONNECT example.org:443 HTTP/2.0\r\n\r\n", "BadVersion")]
    [InlineData("CONNECT  example.org:443 HTTP/1.1\r\n\r\n", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n", "Incomplete")]
    public void Parse_Hostile_IsRefused(string text, string expected) => Assert.Equal(expected, Parse(text, out _).ToString());

    private const string WellFormedHead = "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n";

    /// <summary>
    /// The bytes after the head are the tunnel's (a ClientHello sent in the CONNECT's own write): their CR and LF values
    /// are not the head's line endings. A head that is itself malformed is refused whatever follows it.
    /// </summary>
    [Theory]
    [InlineData(WellFormedHead, "", "None")]
    [InlineData(WellFormedHead, "\n", "None")]
    [InlineData(WellFormedHead, "\r", "None")]
    [InlineData(WellFormedHead, "\r\r\n\n", "None")]
    [InlineData(WellFormedHead, "\x16\x03\x01\x00\x0a\x00\x0d\r\x00\n", "None")]
    [InlineData(WellFormedHead, "\r\n\r\nCONNECT other:443 HTTP/1.1\nHost: other\r\n\r\n", "None")]
    [InlineData(WellFormedHead, "\xff\xfe\r\x00", "None")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\nHost: x\r\n\r\n", "\x16\x03\x01", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", "\x16\x03\x01", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\r\n\r\n", "", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\n\r\n\r\n", "", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n\n", "\x16\x03\x01", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n\r", "\r", "Malformed")]
    [InlineData("CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n\r", "", "Incomplete")]
    public void Parse_BytesAfterTheHead_AreNotTheHeads(string headText, string after, string expected)
    {
        var error = ConnectHeadParser.TryParse(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(headText + after)), 32 * 1024, out var head);
        Assert.Equal(expected, error.ToString());
        if (error == HeadError.None)
        {
            Assert.Equal(headText.Length, head!.Length);
            Assert.Equal("example.org:443", head.Authority);
        }
    }

    [Fact]
    public async Task Parse_RealClientHelloInTheSameRead_ParsesTheHeadAlone()
    {
        var hello = await TlsHello.CaptureAsync("example.org");
        Assert.True(hello.AsSpan().IndexOfAny((byte)'\r', (byte)'\n') >= 0, "the ClientHello has CR or LF values (extensions 10 and 13)");
        var bytes = Encoding.ASCII.GetBytes(WellFormedHead).Concat(hello).ToArray();
        Assert.Equal(HeadError.None, ConnectHeadParser.TryParse(new ReadOnlySequence<byte>(bytes), 32 * 1024, out var head));
        Assert.Equal(WellFormedHead.Length, head!.Length);
    }

    [Fact]
    public void Parse_OverTheCap_IsTooLarge()
    {
        var text = "CONNECT example.org:443 HTTP/1.1\r\nX: " + new string('a', 40000);
        Assert.Equal(HeadError.TooLarge, Parse(text, out _));
    }

    [Theory]
    [InlineData("example.org:443", 0, "example.org", 443, true)]
    [InlineData("[::1]:8443", 0, "::1", 8443, true)]
    [InlineData("example.org", 0, "", 0, false)]
    [InlineData("example.org", 80, "example.org", 80, true)]
    [InlineData("user@example.org:443", 0, "", 0, false)]
    [InlineData("example.org:0", 0, "", 0, false)]
    [InlineData("example.org:65536", 0, "", 0, false)]
    [InlineData("example.org:443/x", 0, "", 0, false)]
    public void Authority_Splits(string authority, int defaultPort, string host, int port, bool ok)
    {
        Assert.Equal(ok, Authority.TrySplit(authority, defaultPort, out var h, out var p));
        if (ok)
        {
            Assert.Equal(host, h.ToString());
            Assert.Equal(port, p);
        }
    }
}

public sealed class ClientHelloParserTests
{
    [Fact]
    public async Task Parse_RealClientHello_FindsSniAndAlpn()
    {
        var hello = await TlsHello.CaptureAsync("www.example.org", "h2", "http/1.1");
        Assert.Equal(HelloStatus.Ok, ClientHelloParser.TryParse(new ReadOnlySequence<byte>(hello), out var info));
        Assert.Equal("www.example.org", info!.ServerName);
        Assert.Equal(["h2", "http/1.1"], info.Alpn);
    }

    [Fact]
    public async Task Parse_EveryPrefix_IsIncompleteNeverWrong()
    {
        var hello = await TlsHello.CaptureAsync("secure.test");
        for (int n = 1; n < hello.Length; n += 7)
        {
            Assert.Equal(HelloStatus.Incomplete, ClientHelloParser.TryParse(new ReadOnlySequence<byte>(hello, 0, n), out _));
        }
    }

    [Fact]
    public void Parse_PlainHttp_IsNotTls() =>
        Assert.Equal(HelloStatus.NotTls, ClientHelloParser.TryParse(new ReadOnlySequence<byte>("GET / HTTP/1.1\r\n"u8.ToArray()), out _));
}
