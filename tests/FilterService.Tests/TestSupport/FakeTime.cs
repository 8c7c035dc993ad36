namespace FilterService.Tests.TestSupport;

/// <summary>
/// A clock that moves only when told. The one fake the house style allows. The wall clock and timestamps (durations,
/// deadlines measured with GetElapsedTime) move together, safely from any thread. Timers are the system's unless
/// <c>manualTimers</c> is set: then a timer created on this clock (a CancellationTokenSource's CancelAfter, the
/// splice's idle deadline) fires only when <see cref="Advance"/> passes its due time, and <see cref="WaitUntilArmed"/>
/// lets a test move the clock only once the code under test is waiting on it, instead of sleeping first.
/// </summary>
public sealed class FakeTime(DateTimeOffset start, bool manualTimers = false) : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private long _ticks = start.UtcTicks;
    private int _armed;

    /// <summary>Manual timers only: how many times a timer on this clock has been given a due time (made or changed).</summary>
    public int Armed
    {
        get
        {
            lock (_gate)
            {
                return _armed;
            }
        }
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (!manualTimers)
        {
            return base.CreateTimer(callback, state, dueTime, period);
        }
        var timer = new ManualTimer(this, callback, state);
        lock (_gate)
        {
            _timers.Add(timer);
        }
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_gate)
        {
            long now = Interlocked.Add(ref _ticks, by.Ticks);
            due = _timers.Where(t => t.Due is { } at && at <= now).ToList();
            foreach (var timer in due)
            {
                timer.Due = null;
            }
        }
        foreach (var timer in due)
        {
            timer.Fire();
        }
    }

    /// <summary>
    /// Manual timers only: waits until timers on this clock have been given a due time <paramref name="count"/> times in
    /// all (<see cref="Armed"/>); false if that has not happened within <paramref name="timeout"/>, a bound on the test in
    /// real time, not a deadline under test.
    /// </summary>
    public bool WaitUntilArmed(int count, TimeSpan timeout)
    {
        var waited = global::System.Diagnostics.Stopwatch.StartNew();
        lock (_gate)
        {
            while (_armed < count)
            {
                var left = timeout - waited.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    return false;
                }
                Monitor.Wait(_gate, left);
            }
            return true;
        }
    }

    private sealed class ManualTimer(FakeTime clock, TimerCallback callback, object? state) : ITimer
    {
        /// <summary>When the timer fires, in the clock's ticks; null when stopped or fired (periods are not repeated).</summary>
        public long? Due { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : Interlocked.Read(ref clock._ticks) + dueTime.Ticks;
                if (Due is not null)
                {
                    clock._armed++;
                    Monitor.PulseAll(clock._gate);
                }
            }
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (clock._gate)
            {
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
