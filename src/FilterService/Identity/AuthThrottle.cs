using System.Collections.Concurrent;
using System.Net;

namespace FilterService.Identity;

/// <summary>
/// Counts failed proxy logins per client address in a fixed window and refuses further attempts from an
/// address that reached the limit until its window ends, so passwords cannot be guessed at line rate.
/// Thread-safe; memory is bounded by pruning expired entries once the table grows.
/// </summary>
internal sealed class AuthThrottle
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<IPAddress, Window> _windows = new();
    private readonly int _limit;
    private readonly TimeSpan _length;
    private readonly TimeProvider _time;

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start = start;
        public int Failures;
    }

    public AuthThrottle(int limit, TimeSpan length, TimeProvider time)
    {
        _limit = limit;
        _length = length;
        _time = time;
    }

    /// <summary>Whether <paramref name="client"/> is refused for now; <paramref name="retryAfter"/> says for how long.</summary>
    public bool IsThrottled(IPAddress client, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (!_windows.TryGetValue(client, out var w))
        {
            return false;
        }
        lock (w)
        {
            var left = w.Start + _length - _time.GetUtcNow();
            if (left <= TimeSpan.Zero || w.Failures < _limit)
            {
                return false;
            }
            retryAfter = left;
            return true;
        }
    }

    /// <summary>Raised on every recorded failure (metrics count them; no address is passed on).</summary>
    public event Action? FailureRecorded;

    public void RecordFailure(IPAddress client)
    {
        FailureRecorded?.Invoke();
        var now = _time.GetUtcNow();
        var w = _windows.GetOrAdd(client, static (_, n) => new Window(n), now);
        lock (w)
        {
            if (now - w.Start >= _length)
            {
                w.Start = now;
                w.Failures = 0;
            }
            w.Failures++;
        }
        if (_windows.Count > PruneAbove)
        {
            foreach (var (key, value) in _windows)
            {
                if (now - value.Start >= _length)
                {
                    _windows.TryRemove(key, out _);
                }
            }
        }
    }
}
