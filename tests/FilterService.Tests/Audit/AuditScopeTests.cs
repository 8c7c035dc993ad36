using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Audit;

public sealed class AuditScopeTests
{
    [Fact]
    public async Task BlockedOnly_RecordsBlocksButNotAllowedRequests()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, origin, "--Audit:Log=Blocked");
        var allowed = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://allowed.test/hello");
        Assert.Equal(200, allowed.HttpCode);
        var blocked = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://blocked-terror.test/");
        Assert.Equal(403, blocked.HttpCode);
        await service.WaitForAuditAsync(r => r.Str("url") == "http://blocked-terror.test/", "the block");
        Assert.DoesNotContain(service.AuditRecords(), r => r.Str("url") == "http://allowed.test/hello");
    }
}
