namespace FilterService.Proxy;

/// <summary>The tunnel loop's deadlines (head, connect, ClientHello, idle), all on the injected clock.</summary>
internal sealed partial class TunnelLoop
{
    /// <summary>How often (wall milliseconds of epoll_wait) the loop looks for passed deadlines while it holds connections.</summary>
    private const int SweepMs = 250;

    private readonly TimeProvider _time;
    // The deadlines, in the clock's timestamp units (TimeProvider.TimestampFrequency).
    private readonly long _headTicks, _connectTicks, _helloTicks, _idleTicks, _sweepTicks;
    private bool _acceptPaused;
    private long _acceptResumeAt;

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private long DueIn(long ticks) => _time.GetTimestamp() + ticks;

    /// <summary>Ends the connections whose step's deadline has passed at <paramref name="now"/>, and resumes a paused accept.</summary>
    private void Sweep(long now)
    {
        if (_acceptPaused && now >= _acceptResumeAt)
        {
            // Listening again; if even that fails, try again in a second.
            _acceptPaused = !ListenAgain();
            _acceptResumeAt = now + Ticks(TimeSpan.FromSeconds(1));
        }
        for (int i = 0; i < _slots.Count; i++)
        {
            if (_slots[i] is not { } c || c.Step == ConnectFlow.ConnectStep.Closed || now < c.Due)
            {
                continue;
            }
            switch (c.Step)
            {
                case ConnectFlow.ConnectStep.Head:
                    HandOff(c); // the middleware finds the head deadline passed and closes or answers 408, as it always has
                    break;
                case ConnectFlow.ConnectStep.Resolve:
                case ConnectFlow.ConnectStep.Connect:
                    Fail(c, UpstreamError.Timeout, c.Remote);
                    break;
                case ConnectFlow.ConnectStep.Hello:
                    RefuseHello(c);
                    break;
                case ConnectFlow.ConnectStep.Splice:
                    End(c); // idle
                    break;
            }
        }
    }

    /// <summary>Stops taking connections for a second (out of descriptors or memory), rather than spin on a level-triggered listener.</summary>
    private void PauseAccept()
    {
        Libc.EpollRemove(_epoll, _listenFd);
        _acceptPaused = true;
        _acceptResumeAt = DueIn(Ticks(TimeSpan.FromSeconds(1)));
    }
}
