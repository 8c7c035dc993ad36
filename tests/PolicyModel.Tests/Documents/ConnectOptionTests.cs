using PolicyModel.Documents;

namespace PolicyModel.Tests.Documents;

/// <summary>Issue 17, circumvention: <c>connect: { bare_ip: allow | block }</c> compiles, and a bad value is a located error.</summary>
public sealed class ConnectOptionTests
{
    private const string Tail = "default: allow\n";

    [Theory]
    [InlineData("", false)]
    [InlineData("connect:\n  bare_ip: allow\n", false)]
    [InlineData("connect:\n  bare_ip: block\n", true)]
    [InlineData("connect: { bare_ip: block }\n", true)]
    public void Issue17_BareIpOption_Compiles(string section, bool refused)
    {
        using var p = new TestPolicy(TestPolicy.Head + Tail + section);
        Assert.Equal(refused, p.Snapshot().RefuseBareIpConnect);
    }

    [Fact]
    public void Issue17_BareIpOption_BadValue_IsALocatedError()
    {
        using var p = new TestPolicy(TestPolicy.Head + Tail + "connect:\n  bare_ip: deny\n");
        var result = p.Load();
        Assert.False(result.Succeeded);
        int line = (TestPolicy.Head + Tail + "connect:\n").Count(c => c == '\n') + 1;
        var error = Assert.Single(result.Errors).ToString();
        Assert.StartsWith($"policy.yaml:{line}:12: error PM0601: connect.bare_ip must be 'allow' or 'block', not 'deny'", error);
    }

    [Fact]
    public void Issue17_ConnectSection_UnknownKey_IsALocatedError()
    {
        using var p = new TestPolicy(TestPolicy.Head + Tail + "connect:\n  bare_ips: block\n");
        var result = p.Load();
        Assert.False(result.Succeeded);
        int line = (TestPolicy.Head + Tail + "connect:\n").Count(c => c == '\n') + 1;
        Assert.StartsWith($"policy.yaml:{line}:3: error PM0102: ", Assert.Single(result.Errors).ToString());
    }
}
