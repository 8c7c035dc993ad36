using System.Net;
using FilterService.Identity;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Identity;

internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;
    public override DateTimeOffset GetUtcNow() => Now;
}

public sealed class AuthThrottleTests
{
    private static readonly IPAddress Client = IPAddress.Parse("10.40.1.2");

    [Fact]
    public void Throttle_AfterLimitFailuresInWindow_RefusesUntilWindowEnds()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        var throttle = new AuthThrottle(3, 30, TimeSpan.FromMinutes(1), time);
        for (int i = 0; i < 3; i++)
        {
            Assert.False(throttle.IsThrottled(Client, "pupil1", out _));
            throttle.RecordFailure(Client, "pupil1");
        }
        Assert.True(throttle.IsThrottled(Client, "pupil1", out var retry));
        Assert.Equal(TimeSpan.FromMinutes(1), retry);
        Assert.False(throttle.IsThrottled(IPAddress.Parse("10.40.1.3"), "pupil1", out _));
        time.Now += TimeSpan.FromSeconds(61);
        Assert.False(throttle.IsThrottled(Client, "pupil1", out _));
    }

    [Fact]
    public void Item16_Throttle_WrongPasswordsForOneName_LeaveOtherNamesBehindTheAddressOpen()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        var throttle = new AuthThrottle(10, 100, TimeSpan.FromMinutes(1), time);
        for (int i = 0; i < 10; i++)
        {
            throttle.RecordFailure(Client, "pupil1");
        }
        Assert.True(throttle.IsThrottled(Client, "pupil1", out _));
        Assert.True(throttle.IsThrottled(Client, "PUPIL1", out _)); // the directory ignores case, so does the count
        Assert.False(throttle.IsThrottled(Client, "pupil2", out _));
        Assert.False(throttle.IsThrottled(Client, "staff1", out _));
    }

    [Fact]
    public void Item16_Throttle_ManyNamesFromOneAddress_HitThePerAddressCeiling()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        var throttle = new AuthThrottle(10, 100, TimeSpan.FromMinutes(1), time);
        for (int i = 0; i < 99; i++)
        {
            throttle.RecordFailure(Client, $"guess{i}"); // one password sprayed across names: each name fails once
        }
        Assert.False(throttle.IsThrottled(Client, "staff1", out _));
        throttle.RecordFailure(Client, "guess99");
        Assert.True(throttle.IsThrottled(Client, "staff1", out var retry));
        Assert.Equal(TimeSpan.FromMinutes(1), retry);
        Assert.False(throttle.IsThrottled(IPAddress.Parse("10.40.1.3"), "staff1", out _));
        time.Now += TimeSpan.FromSeconds(60);
        Assert.False(throttle.IsThrottled(Client, "staff1", out _));
    }

    [Theory]
    [InlineData("Basic cHVwaWwxOnB1cGlsMS1kZW1v", true, "pupil1", "pupil1-demo")]
    [InlineData("basic cHVwaWwxOnB1cGlsMS1kZW1v", true, "pupil1", "pupil1-demo")]
    [InlineData("Basic OnNlY3JldA==", false, "", "")]
    [InlineData("Bearer abc", false, "", "")]
    [InlineData("Basic !!!", false, "", "")]
    [InlineData("Basic dXNlcg==", false, "", "")]
    public void ParseBasic_HandlesGoodAndBadHeaders(string header, bool ok, string user, string password)
    {
        Assert.Equal(ok, ProxyAuthenticator.TryParseBasic(header, out var u, out var p));
        if (ok)
        {
            Assert.Equal(user, u);
            Assert.Equal(password, p);
        }
    }
}

public sealed class ThrottleFixture : ProxyFixture
{
    protected override string[] ExtraSettings => ["--Proxy:MaxAuthFailures=3"];
}

public sealed class ProxyAuthThrottleTests(ThrottleFixture fixture) : IClassFixture<ThrottleFixture>
{
    [Fact]
    public async Task WrongPasswords_AreThrottledPerClient_EvenTheRightOneThen()
    {
        var proxy = fixture.Service.ProxyUri.ToString();
        for (int i = 0; i < 3; i++)
        {
            var wrong = await Curl.RunAsync("--proxy", proxy, "--proxy-user", $"pupil1:guess{i}", "http://allowed.test/hello");
            Assert.Equal(407, wrong.HttpCode);
        }
        var right = await Curl.RunAsync("--proxy", proxy, "--proxy-user", "pupil1:pupil1-demo", "-D", "/dev/stderr", "http://allowed.test/hello");
        Assert.Equal(429, right.HttpCode);
        Assert.Contains("Retry-After:", right.Stderr);
        await fixture.Service.WaitForAuditAsync(r => r.Str("rule") == "proxy-auth-throttled" && r.Int("status") == 429, "the throttled login");
    }
}
