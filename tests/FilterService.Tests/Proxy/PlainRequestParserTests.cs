using System.Buffers;
using System.Text;
using FilterService.Proxy;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// Table tests for <see cref="PlainRequestParser"/>: what it fills for the heads the lean stage serves, and the
/// classes of head it leaves to Kestrel (<see cref="HeadCheck.NotSimple"/>) or waits on (<see cref="HeadCheck.Incomplete"/>).
/// The limits are the service's defaults (Proxy:MaxHeadBytes 32 KiB, request line 16 KiB).
/// </summary>
public sealed class PlainRequestParserTests
{
    private const int MaxHead = 32 * 1024;
    private const int MaxLine = 16 * 1024;

    private const string Chrome =
        "GET http://example.org/wiki/Main_Page?x=1 HTTP/1.1\r\n" +
        "Host: example.org\r\n" +
        "Proxy-Connection: keep-alive\r\n" +
        "Upgrade-Insecure-Requests: 1\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
        "Accept-Encoding: gzip, deflate\r\n" +
        "Accept-Language: en-GB,en;q=0.9\r\n" +
        "\r\n";

    internal static HeadCheck Parse(string text, PlainRequestHead head, int maxHead = MaxHead, int maxLine = MaxLine) =>
        PlainRequestParser.TryParse(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text)), maxHead, maxLine, head);

    private static HeadCheck Check(string text, int maxHead = MaxHead, int maxLine = MaxLine)
    {
        using var head = new PlainRequestHead();
        return Parse(text, head, maxHead, maxLine);
    }

    internal static List<string> Forwarded(PlainRequestHead head) =>
        Enumerable.Range(0, head.LineCount)
            .Select(i => Encoding.Latin1.GetString(head.Bytes, head.Lines[2 * i], head.Lines[2 * i + 1]))
            .ToList();

    [Fact]
    public void TryParse_BrowserGet_FillsEveryFieldAndForwardsOnlyEndToEndHeaders()
    {
        using var head = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, Parse(Chrome, head));
        Assert.False(head.IsHead);
        Assert.Equal("GET", head.Method);
        Assert.Equal("http://example.org/wiki/Main_Page?x=1", head.Target);
        Assert.True(head.KeepAlive);
        Assert.Null(head.ProxyAuthorization);
        Assert.Equal(Chrome.Length, head.Length);
        Assert.Equal(
            [
                "Upgrade-Insecure-Requests: 1",
                "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Encoding: gzip, deflate",
                "Accept-Language: en-GB,en;q=0.9",
            ],
            Forwarded(head));
    }

    [Fact]
    public void TryParse_Head_IsHeadWithItsMethod()
    {
        using var head = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, Parse("HEAD http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n", head));
        Assert.True(head.IsHead);
        Assert.Equal("HEAD", head.Method);
        Assert.Equal("http://example.org/", head.Target);
    }

    [Fact]
    public void TryParse_PipelinedRequestBehind_LengthCoversOnlyTheFirstHead()
    {
        const string first = "GET http://a.test/1 HTTP/1.1\r\nHost: a.test\r\n\r\n";
        using var head = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, Parse(first + "GET http://a.test/2 HTTP/1.1\r\nHost: a.test\r\n\r\n", head));
        Assert.Equal(first.Length, head.Length);
        Assert.Equal("http://a.test/1", head.Target);
    }

    [Fact]
    public void TryParse_ProxyAuthorization_IsCapturedAndNeverForwarded()
    {
        using var head = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, Parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization:  Basic dTpw \r\nX-A: 1\r\n\r\n", head));
        Assert.Equal("Basic dTpw", head.ProxyAuthorization);
        Assert.Equal(["X-A: 1"], Forwarded(head));
    }

    [Fact]
    public void TryParse_ReusedHead_ForgetsThePreviousRequest()
    {
        using var head = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, Parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic x\r\nConnection: close\r\nX-A: 1\r\n\r\n", head));
        Assert.Equal(HeadCheck.Simple, Parse("HEAD http://b.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n", head));
        Assert.Null(head.ProxyAuthorization);
        Assert.True(head.KeepAlive);
        Assert.True(head.IsHead);
        Assert.Empty(Forwarded(head));
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("Connection: keep-alive\r\n", true)]
    [InlineData("Connection: close\r\n", false)]
    [InlineData("Connection: CLOSE\r\n", false)]
    [InlineData("Connection: keep-alive, close\r\n", false)]
    [InlineData("Connection: keep-alive\r\nConnection: close\r\n", false)]
    [InlineData("Connection: closed\r\n", true)]
    [InlineData("Connection: x-close\r\n", true)]
    [InlineData("Proxy-Connection: close\r\n", true)]
    public void TryParse_Http11KeepAlive_UnlessConnectionNamesClose(string headers, bool keepAlive)
    {
        using var head = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, Parse($"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n{headers}\r\n", head));
        Assert.Equal(keepAlive, head.KeepAlive);
    }

    [Theory]
    [InlineData("GET http://a.test/ HTTP/1.0\r\nHost: a.test\r\n\r\n")]
    [InlineData("GET http://a.test/ HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n")]
    [InlineData("GET http://a.test/ HTTP/1.0\r\n\r\n")]
    public void TryParse_Http10_IsKestrels_WhateverItsKeepAlive(string text) => Assert.Equal(HeadCheck.NotSimple, Check(text));

    [Fact]
    public void TryParse_HopByHopAndConnectionNamedHeaders_AreNotForwarded()
    {
        using var head = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, Parse(
            "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nKeep-Alive: 5\r\nTE: trailers\r\nTrailer: X\r\nProxy-Connection: keep-alive\r\n" +
            "Connection: X-Secret\r\nconnection: x-other\r\nX-Secret: s\r\nX-OTHER: o\r\nX-Kept: k\r\n\r\n", head));
        Assert.Equal(["X-Kept: k"], Forwarded(head));
    }

    [Fact]
    public void TryParse_ForwardedLines_AreTheBytesAsReceived()
    {
        using var head = new PlainRequestHead();
        // obs-text as UTF-8 (each char here is one byte): "café".
        Assert.Equal(HeadCheck.Simple, Parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nx-lower:\tv  w \t\r\nX-Empty:\r\nX-Obs: caf\u00c3\u00a9\r\n\r\n", head));
        Assert.Equal(["x-lower:\tv  w \t", "X-Empty:", "X-Obs: caf\u00c3\u00a9"], Forwarded(head));
    }

    [Theory]
    [InlineData("caf\u00e9")] // Latin-1
    [InlineData("\u00c3\u0028")] // a lead byte without its continuation
    [InlineData("\u00c0\u00af")] // overlong
    [InlineData("\u00ed\u00a0\u0080")] // a surrogate
    [InlineData("\u00f4\u0090\u0080\u0080")] // past U+10FFFF
    [InlineData("\u00e2\u0082")] // truncated
    public void TryParse_ObsTextThatIsNotUtf8_IsKestrels(string value)
    {
        // Kestrel decodes header values as strict UTF-8 and answers 400 (the differential test found the lean stage
        // forwarding what Kestrel refuses).
        Assert.Equal(HeadCheck.NotSimple, Check($"GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX-Obs: {value}\r\n\r\n"));
    }

    [Theory]
    // The target is kept exactly as sent; canonical forms are HttpTarget.TryResolveUri's, once, for the decision and the forwarder.
    [InlineData("http://example.org")]
    [InlineData("http://EXAMPLE.org/A%2Fb?q=%20")]
    [InlineData("http://ex%61mple.org/")]
    [InlineData("http://127.0.0.1:8080/")]
    [InlineData("http://[::ffff:127.0.0.5]/")]
    [InlineData("http://0x7f.1/")]
    [InlineData("http://2130706433/")]
    [InlineData("http://xn--bcher-kva.example/")]
    [InlineData("http://a.test/a/../b/./c")]
    [InlineData("http://a.test/#frag")]
    [InlineData("http://user:pass@a.test/")]
    [InlineData("http://")]
    public void TryParse_AbsoluteHttpTarget_IsKeptRaw(string target)
    {
        using var head = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, Parse($"GET {target} HTTP/1.1\r\nHost: a.test\r\n\r\n", head));
        Assert.Equal(target, head.Target);
    }

    [Theory]
    // Request line
    [InlineData("origin form", "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("https absolute form", "GET https://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("upper-case scheme", "GET HTTP://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("authority form", "GET a.test:80 HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("asterisk form", "GET * HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("lower-case method", "get http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("mixed-case method", "Get http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("mixed-case HEAD", "HEAd http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("POST", "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("OPTIONS", "OPTIONS http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("GET as a prefix", "GETX http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("two spaces after method", "GET  http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("tab after method", "GET\thttp://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("two spaces before version", "GET http://a.test/  HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("space in target", "GET http://a.test/a b HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("control byte in target", "GET http://a.test/a\u0001b HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("DEL in target", "GET http://a.test/a\u007fb HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("non-ASCII in target", "GET http://a.test/caf\u00e9 HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("trailing space after version", "GET http://a.test/ HTTP/1.1 \r\nHost: a.test\r\n\r\n")]
    [InlineData("no version", "GET http://a.test/\r\nHost: a.test\r\n\r\n")]
    [InlineData("HTTP/2.0", "GET http://a.test/ HTTP/2.0\r\nHost: a.test\r\n\r\n")]
    [InlineData("HTTP/1.2", "GET http://a.test/ HTTP/1.2\r\nHost: a.test\r\n\r\n")]
    [InlineData("lower-case version", "GET http://a.test/ http/1.1\r\nHost: a.test\r\n\r\n")]
    // Line endings
    [InlineData("bare LF after request line", "GET http://a.test/ HTTP/1.1\nHost: a.test\r\n\r\n")]
    [InlineData("bare LF after header", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\nX: 1\r\n\r\n")]
    [InlineData("bare LF ending the head", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\n")]
    [InlineData("bare CR in header value", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\rb\r\n\r\n")]
    [InlineData("bare CR in request line", "GET http://a.test/\r HTTP/1.1\r\nHost: a.test\r\n\r\n")]
    [InlineData("CR CR LF", "GET http://a.test/ HTTP/1.1\r\r\nHost: a.test\r\n\r\n")]
    // Header syntax
    [InlineData("obsolete line folding", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\r\n b\r\n\r\n")]
    [InlineData("folding with a tab", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\r\n\tb\r\n\r\n")]
    [InlineData("whitespace before the first header", "GET http://a.test/ HTTP/1.1\r\n Host: a.test\r\n\r\n")]
    [InlineData("space before colon", "GET http://a.test/ HTTP/1.1\r\nHost : a.test\r\n\r\n")]
    [InlineData("tab before colon", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX\t: 1\r\n\r\n")]
    [InlineData("space in name", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX Y: 1\r\n\r\n")]
    [InlineData("separator in name", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX@Y: 1\r\n\r\n")]
    [InlineData("quote in name", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX\"Y: 1\r\n\r\n")]
    [InlineData("non-ASCII in name", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX\u00e9: 1\r\n\r\n")]
    [InlineData("empty name", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n: 1\r\n\r\n")]
    [InlineData("no colon", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX-No-Colon\r\n\r\n")]
    [InlineData("NUL in value", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\u0000b\r\n\r\n")]
    [InlineData("control byte in value", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\u0001b\r\n\r\n")]
    [InlineData("DEL in value", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: a\u007fb\r\n\r\n")]
    // Headers that take the request off the lean path
    [InlineData("no Host", "GET http://a.test/ HTTP/1.1\r\nX: 1\r\n\r\n")]
    [InlineData("duplicate Host", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n")]
    [InlineData("duplicate Host in other case", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nhOST: a.test\r\n\r\n")]
    [InlineData("Content-Length", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("duplicate Content-Length", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\ncontent-length: 5\r\nContent-Length: 5\r\n\r\n")]
    [InlineData("Transfer-Encoding", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("Transfer-Encoding in lower case", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\ntransfer-encoding: identity\r\n\r\n")]
    [InlineData("Expect", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\n\r\n")]
    [InlineData("Upgrade", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")]
    [InlineData("duplicate Proxy-Authorization", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic a\r\nProxy-Authorization: Basic b\r\n\r\n")]
    public void TryParse_HeadTheLeanStageDoesNotServe_IsLeftToKestrel(string shows, string text)
    {
        Assert.True(HeadCheck.NotSimple == Check(text), shows);
        // Each byte arriving alone must never turn a refusal into a wait or a serve.
        var bytes = Encoding.Latin1.GetBytes(text);
        using var head = new PlainRequestHead();
        var last = PlainRequestParser.TryParse(SegmentedSequence.Of(bytes, Enumerable.Range(1, bytes.Length).ToArray()), MaxHead, MaxLine, head);
        Assert.True(HeadCheck.NotSimple == last, shows + " (one byte per segment)");
    }

    [Theory]
    [InlineData("bare LF", "GET http://a.test/ HTTP/1.1\nHo")]
    [InlineData("bare CR", "GET http://a.test/ HTTP/1.1\r\nHost: a\rb")]
    [InlineData("POST", "PO")]
    [InlineData("origin form", "GET /")]
    [InlineData("lower-case method", "g")]
    public void TryParse_OffendingByte_RefusesBeforeTheHeadIsComplete(string shows, string text) =>
        Assert.True(HeadCheck.NotSimple == Check(text), shows);

    [Theory]
    [InlineData("")]
    [InlineData("G")]
    [InlineData("HEAD http:/")]
    [InlineData("GET http://a.test/ HTTP/1.1")]
    [InlineData("GET http://a.test/ HTTP/1.1\r")]
    [InlineData("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n")]
    [InlineData("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r")]
    public void TryParse_PrefixOfASimpleHead_IsIncomplete(string text) => Assert.Equal(HeadCheck.Incomplete, Check(text));

    [Fact]
    public void TryParse_HundredHeaders_IsSimple_HundredAndOne_IsKestrels()
    {
        string With(int n) => "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n" +
            string.Concat(Enumerable.Range(1, n - 1).Select(i => $"X-{i}: {i}\r\n")) + "\r\n";
        Assert.Equal(HeadCheck.Simple, Check(With(PlainRequestHead.HeaderLimit)));
        Assert.Equal(HeadCheck.NotSimple, Check(With(PlainRequestHead.HeaderLimit + 1)));
    }

    [Fact]
    public void TryParse_RequestLineAtTheLimit_IsSimple_OneOver_IsKestrels_EvenBeforeItEnds()
    {
        const string prefix = "GET http://a.test/";
        const string suffix = " HTTP/1.1";
        string Line(int length) => prefix + new string('a', length - prefix.Length - suffix.Length) + suffix;
        // Kestrel's MaxRequestLineSize counts the CRLF (the differential test found the lean stage serving a line Kestrel refuses with 414).
        Assert.Equal(HeadCheck.Simple, Check(Line(MaxLine - 2) + "\r\nHost: a.test\r\n\r\n"));
        Assert.Equal(HeadCheck.NotSimple, Check(Line(MaxLine - 1) + "\r\nHost: a.test\r\n\r\n"));
        Assert.Equal(HeadCheck.NotSimple, Check(prefix + new string('a', MaxLine - prefix.Length)));
        Assert.Equal(HeadCheck.Incomplete, Check(prefix + new string('a', MaxLine - 1 - prefix.Length)));
    }

    [Fact]
    public void TryParse_HeadAtTheLimit_IsSimple_OneOver_IsKestrels_EvenBeforeItEnds()
    {
        const string start = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX: ";
        string Head(int length) => start + new string('v', length - start.Length - 4) + "\r\n\r\n";
        Assert.Equal(HeadCheck.Simple, Check(Head(4096), maxHead: 4096, maxLine: 4096));
        Assert.Equal(HeadCheck.NotSimple, Check(Head(4097), maxHead: 4096, maxLine: 4096));
        Assert.Equal(HeadCheck.NotSimple, Check(start + new string('v', 5000), maxHead: 4096, maxLine: 4096));
        Assert.Equal(HeadCheck.Incomplete, Check(start + new string('v', 4000), maxHead: 4096, maxLine: 4096));
    }

    [Fact]
    public void TryParse_HeadInPieces_ReadsAsTheSameHeadWhereverItIsCut()
    {
        var bytes = Encoding.Latin1.GetBytes(Chrome + "GET");
        using var whole = new PlainRequestHead();
        Assert.Equal(HeadCheck.Simple, PlainRequestParser.TryParse(new ReadOnlySequence<byte>(bytes), MaxHead, MaxLine, whole));
        using var head = new PlainRequestHead();
        for (int cut = 1; cut < bytes.Length; cut += 7)
        {
            Assert.Equal(HeadCheck.Simple, PlainRequestParser.TryParse(SegmentedSequence.Of(bytes, cut, cut + 3, cut + 50), MaxHead, MaxLine, head));
            Assert.Equal(whole.Length, head.Length);
            Assert.Equal(whole.Target, head.Target);
            Assert.Equal(Forwarded(whole), Forwarded(head));
        }
    }
}
