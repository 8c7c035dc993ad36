namespace FilterService.Tests.TestSupport;

/// <summary>
/// For end-to-end tests that prepare a day's file (a FIFO, a link to /dev/full) before the service starts: the service
/// runs on the real clock and names its files by the local day, so a test must not straddle a local midnight.
/// </summary>
internal static class DayBoundary
{
    /// <summary>
    /// Returns at once unless a local midnight falls within <paramref name="margin"/>; then waits until just past it
    /// (at most the margin and a second), so the whole test runs inside one day.
    /// </summary>
    public static async Task AwayFromMidnightAsync(TimeSpan margin)
    {
        var now = DateTime.Now;
        var left = now.Date.AddDays(1) - now;
        if (left < margin)
        {
            await Task.Delay(left + TimeSpan.FromSeconds(1), TimeProvider.System);
        }
    }
}
