using PolicyModel.Matching;

namespace PolicyModel.Tests.Matching;

public sealed class HostNameTests
{
    [Theory]
    [InlineData("Example.COM", "example.com")]
    [InlineData("example.com.", "example.com")]
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    [InlineData("BÜCHER.example.", "xn--bcher-kva.example")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("_dmarc.example.com", "_dmarc.example.com")]
    [InlineData("youtube", "youtube")]
    [InlineData("rr2---sn-4g5ednly.googlevideo.com", "rr2---sn-4g5ednly.googlevideo.com")]
    public void Normalize_ValidName_ReturnsLowerCasePunycode(string input, string expected) =>
        Assert.Equal(expected, HostName.Normalize(input));

    [Theory]
    [InlineData("10.0.0.1", "10.0.0.1")]
    [InlineData("10.0.0.1.", "10.0.0.1")]
    [InlineData("[::1]", "::1")]
    [InlineData("[2001:DB8:0:0::1]", "2001:db8::1")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    public void Normalize_IPLiteral_ReturnsCanonicalText(string input, string expected) =>
        Assert.Equal(expected, HostName.Normalize(input));

    [Theory]
    [InlineData("2130706433")]
    [InlineData("0x7f.1")]
    [InlineData("127.1")]
    public void Normalize_LooseNumericForm_StaysAName(string input) =>
        Assert.Equal(input, HostName.Normalize(input));

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("a..b")]
    [InlineData(".example.com")]
    [InlineData("-example.com")]
    [InlineData("exa mple.com")]
    [InlineData("*.example.com")]
    [InlineData("example.com/path")]
    [InlineData("999.1.1.1")]
    [InlineData("[example.com]")]
    [InlineData("[::1")]
    [InlineData("fe80::1%lo0")]
    public void Normalize_InvalidHost_ReturnsNull(string input) => Assert.Null(HostName.Normalize(input));

    [Fact]
    public void Normalize_LabelOf64Characters_ReturnsNull() =>
        Assert.Null(HostName.Normalize(new string('a', 64) + ".com"));

    [Fact]
    public void Normalize_NameOf254Characters_ReturnsNull()
    {
        string name = string.Join('.', Enumerable.Repeat(new string('a', 49), 5)) + ".abcd"; // 250 + 5
        Assert.Equal(254, name.Length);
        Assert.Null(HostName.Normalize(name));
        Assert.NotNull(HostName.Normalize(name.AsSpan(0, 253)));
    }

    [Fact]
    public void Normalize_AlreadyNormalisedWithOriginal_ReturnsSameInstance()
    {
        string host = "already.normal.example";
        Assert.Same(host, HostName.Normalize(host, host));
    }
}
