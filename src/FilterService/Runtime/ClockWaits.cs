namespace FilterService.Runtime;

/// <summary>
/// Timed waits on the injected clock. The BCL's timed overloads (<c>SemaphoreSlim.WaitAsync(TimeSpan, ...)</c>,
/// <c>WaitHandle.WaitOne(TimeSpan)</c>) run on the system's timers, which a test's fake clock cannot move, so
/// src/BannedSymbols.txt bans them; these take the <see cref="TimeProvider"/> instead.
/// </summary>
internal static class ClockWaits
{
    /// <summary>
    /// Waits until <paramref name="wake"/> is released or <paramref name="delay"/> has passed on <paramref name="time"/>;
    /// true when released (its count taken, as <c>WaitAsync</c> takes it). A release that races the delay is never lost:
    /// either it is taken here and reported, or it stays in the semaphore for the next wait. Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public static async Task<bool> WaitAsync(this SemaphoreSlim wake, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = wake.WaitAsync(waiting.Token);
        await Task.WhenAny(woken, Task.Delay(delay, time, waiting.Token)).ConfigureAwait(false);
        await waiting.CancelAsync().ConfigureAwait(false);
        try
        {
            await woken.ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
