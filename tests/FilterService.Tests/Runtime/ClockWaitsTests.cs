using FilterService.Runtime;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Runtime;

/// <summary>The wake-or-delay wait on the injected clock that the incident ingester and the alert delivery loop pace on.</summary>
public sealed class ClockWaitsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Wait_EndsWhenTheClockPassesTheDelay_NotBefore_AndLeavesNoWaiterBehind()
    {
        var clock = new FakeTime(DateTimeOffset.UnixEpoch, manualTimers: true);
        using var wake = new SemaphoreSlim(0, 1);
        var wait = wake.WaitAsync(Delay, clock, default);
        Assert.True(clock.WaitUntilArmed(1, Bound));
        clock.Advance(Delay - TimeSpan.FromTicks(1));
        Assert.False(wait.IsCompleted);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.False(await wait.WaitAsync(Bound));
        wake.Release(); // the ended wait left no waiter behind to swallow it
        Assert.Equal(1, wake.CurrentCount);
    }

    [Fact]
    public async Task Wait_EndsOnARelease_AndTakesIt()
    {
        var clock = new FakeTime(DateTimeOffset.UnixEpoch, manualTimers: true);
        using var wake = new SemaphoreSlim(0, 1);
        var wait = wake.WaitAsync(Delay, clock, default);
        wake.Release();
        Assert.True(await wait.WaitAsync(Bound));
        Assert.Equal(0, wake.CurrentCount);
    }

    [Fact]
    public async Task Wait_AReleaseThatCameWhileNoOneWaited_EndsTheNextWaitAtOnce()
    {
        var clock = new FakeTime(DateTimeOffset.UnixEpoch, manualTimers: true);
        using var wake = new SemaphoreSlim(0, 1);
        var first = wake.WaitAsync(Delay, clock, default);
        Assert.True(clock.WaitUntilArmed(1, Bound));
        clock.Advance(Delay);
        Assert.False(await first.WaitAsync(Bound));
        wake.Release(); // a new alert while the loop was working: the next wait must not sleep through it
        Assert.True(await wake.WaitAsync(Delay, clock, default).WaitAsync(Bound));
    }

    [Fact]
    public async Task Wait_Cancelled_Throws_AndLeavesAReleaseForTheNextWait()
    {
        var clock = new FakeTime(DateTimeOffset.UnixEpoch, manualTimers: true);
        using var wake = new SemaphoreSlim(0, 1);
        using var stop = new CancellationTokenSource();
        var wait = wake.WaitAsync(Delay, clock, stop.Token);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Bound));
        wake.Release();
        Assert.Equal(1, wake.CurrentCount);
    }
}
