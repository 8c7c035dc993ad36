using FilterService.Tests.Identity;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

public sealed class BlockPageTests
{
    [Fact]
    public async Task BlockPage_StaffInWorkingHours_SaysWhenAvailableAgainInLocalTime()
    {
        // Monday 23 November 2026, 10:00 in London (GMT): staff-working-hours blocks social media until 17:00.
        var time = new ManualTime(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, null, time);
        var result = await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "--proxy-user", "staff1:staff1-demo", "http://www.facebook.com/");
        Assert.Equal(403, result.HttpCode);
        Assert.Contains("staff-working-hours", result.Body);
        Assert.Contains("Available again at 17:00", result.Body);
        Assert.Contains("2026-11-23 10:00:00 (Europe/London)", result.Body);
        Assert.Contains("Cherry Oak Federation", result.Body);
        Assert.Contains("staff1", result.Body);
        var r = await service.WaitForAuditAsync(r => r.Str("user") == "staff1", "staff1's block");
        Assert.Equal("2026-11-23T17:00:00Z", r.Str("until"));
        Assert.Equal("2026-11-23T10:00:00.000Z", r.Str("time"));
    }
}
