using System.Net;
using PolicyModel.Decisions;
using PolicyModel.Documents;

namespace PolicyModel.Tests.Samples;

/// <summary>
/// Issue 15 item 5: where a seed rule is about the person (risk1 denied, the staff rules), the sample requires sign-in
/// (<c>identity.required_on</c>), so sending no credentials cannot escape it; and <c>check</c> locates mistakes in it.
/// </summary>
public sealed class SampleSignInTests
{
    public static TheoryData<string> Samples() => new(SampleFiles.Names);

    [Theory]
    [MemberData(nameof(Samples))]
    public void Item05_Sample_RequiresSignInOnTheStaffNetworksOnly(string sample)
    {
        var snapshot = SampleFiles.Load(sample).Snapshot!;

        Assert.Equal(ProxyAuthMode.Optional, snapshot.ProxyAuth);
        Assert.Equal(["staffroom", "school-wifi"], snapshot.SignInNetworks);
        Assert.True(snapshot.SignInRequired(IPAddress.Parse("10.20.0.15")), "staffroom");
        Assert.True(snapshot.SignInRequired(IPAddress.Parse("10.30.1.5")), "school-wifi");
        Assert.True(snapshot.SignInRequired(IPAddress.Parse("::ffff:10.30.1.5")), "school-wifi, IPv4-mapped");
        Assert.False(snapshot.SignInRequired(IPAddress.Parse("10.40.0.7")), "pupil-lan: the device's role is enough");
        Assert.False(snapshot.SignInRequired(IPAddress.Parse("10.50.0.7")), "guest-wifi");
        Assert.False(snapshot.SignInRequired(IPAddress.Parse("10.99.0.1")), "a client in no network");
    }

    [Fact]
    public void Item05_RequiredOnTypo_FailsWithLocatedDiagnostic()
    {
        using var copy = new SampleCopy("cherry-oak-federation");
        copy.PolicyText = copy.PolicyText.Replace("required_on: [staffroom, school-wifi]", "required_on: [staffrom, school-wifi]");

        var result = copy.Load();

        var (line, column) = TextPosition.Of(copy.PolicyText, "staffrom");
        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Equal($"policy.yaml:{line}:{column}: error PM0107: unknown network 'staffrom'; did you mean 'staffroom'?", error.ToString());
    }

    [Fact]
    public void Item05_RequiredOnWithProxyAuthOff_FailsWithLocatedDiagnostic()
    {
        using var copy = new SampleCopy("cherry-oak-federation");
        copy.PolicyText = copy.PolicyText.Replace("proxy_auth: optional", "proxy_auth: off");

        var result = copy.Load();

        var (line, column) = TextPosition.Of(copy.PolicyText, "[staffroom, school-wifi]");
        var error = Assert.Single(result.Errors);
        Assert.Equal(
            $"policy.yaml:{line}:{column}: error PM0115: required_on needs 'proxy_auth: optional' (sign-in on these networks, not elsewhere); with proxy_auth off nobody is asked to sign in",
            error.ToString());
    }

    [Fact]
    public void Item05_RequiredOnWithProxyAuthRequired_LoadsAndAsksEveryone()
    {
        using var copy = new SampleCopy("cherry-oak-federation");
        copy.PolicyText = copy.PolicyText.Replace("proxy_auth: optional", "proxy_auth: required");

        var snapshot = copy.Load().Snapshot!;

        Assert.True(snapshot.SignInRequired(IPAddress.Parse("10.40.0.7")));
        Assert.True(snapshot.SignInRequired(IPAddress.Parse("10.20.0.15")));
    }
}
