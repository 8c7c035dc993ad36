namespace FilterService.Proxy;

/// <summary>
/// One deadline for the successive waits of a connection (the first bytes, a head, a ClientHello, the next keep-alive
/// request): armed before a wait and disarmed after it, so a connection costs one CancellationTokenSource and one timer
/// instead of one per wait. A deadline that fired is replaced, so a timer that went off just as the bytes arrived
/// cannot cancel the next wait. The timer is the injected clock's (<see cref="TimeProvider.CreateTimer"/>).
/// </summary>
internal sealed class ReadDeadline(TimeProvider time) : IDisposable
{
    private CancellationTokenSource _cts = new(Timeout.InfiniteTimeSpan, time);

    /// <summary>Starts the clock: the token is cancelled <paramref name="timeout"/> from now.</summary>
    public CancellationToken Arm(TimeSpan timeout)
    {
        _cts.CancelAfter(timeout);
        return _cts.Token;
    }

    /// <summary>Stops the clock before the next wait.</summary>
    public void Disarm()
    {
        if (!_cts.TryReset())
        {
            _cts.Dispose();
            _cts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        }
    }

    public void Dispose() => _cts.Dispose();
}
