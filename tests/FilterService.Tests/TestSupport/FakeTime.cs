namespace FilterService.Tests.TestSupport;

/// <summary>A clock that moves only when told. The one fake the house style allows.</summary>
public sealed class FakeTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    /// <summary>Timestamps (durations, deadlines measured with GetElapsedTime) move with the same clock.</summary>
    public override long GetTimestamp() => _now.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => _now += by;
}
