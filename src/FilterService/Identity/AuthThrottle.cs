using System.Collections.Concurrent;
using System.Net;

namespace FilterService.Identity;

/// <summary>
/// Counts failed proxy logins in fixed windows and refuses further password checks while a window is full, so
/// passwords cannot be guessed at line rate. Two counts (issue 15 item 16):
/// <list type="bullet">
/// <item>per client address <em>and</em> user name (<c>Proxy:MaxAuthFailures</c>): guessing one person's password
/// from one address. Everyone else behind that address (a NAT'd classroom shares one) still signs in.</item>
/// <item>per client address alone, a much higher ceiling (<c>Proxy:MaxAuthFailuresPerAddress</c>): one password
/// sprayed across many names. Reaching it refuses every new login from the address until its window ends.</item>
/// </list>
/// Unknown user names are counted like real ones, so the throttle does not tell which names exist. User names
/// compare case-insensitively, as the directory does. Thread-safe; memory is bounded by pruning expired entries
/// once a table grows.
/// </summary>
internal sealed class AuthThrottle
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<(IPAddress Client, string User), Window> _perUser = new(UserKeyComparer.Instance);
    private readonly ConcurrentDictionary<IPAddress, Window> _perAddress = new();
    private readonly int _userLimit;
    private readonly int _addressLimit;
    private readonly TimeSpan _length;
    private readonly TimeProvider _time;

    private sealed class Window(DateTimeOffset start)
    {
        public DateTimeOffset Start = start;
        public int Failures;
    }

    /// <param name="userLimit">Failures per address and user name in a window.</param>
    /// <param name="addressLimit">Failures per address, whatever the names, in a window.</param>
    public AuthThrottle(int userLimit, int addressLimit, TimeSpan length, TimeProvider time)
    {
        _userLimit = userLimit;
        _addressLimit = addressLimit;
        _length = length;
        _time = time;
    }

    /// <summary>
    /// Whether a login as <paramref name="user"/> from <paramref name="client"/> is refused for now;
    /// <paramref name="retryAfter"/> says for how long.
    /// </summary>
    public bool IsThrottled(IPAddress client, string user, out TimeSpan retryAfter)
    {
        var now = _time.GetUtcNow();
        var byUser = _perUser.TryGetValue((client, user), out var u) ? Left(u, _userLimit, now) : TimeSpan.Zero;
        var byAddress = _perAddress.TryGetValue(client, out var a) ? Left(a, _addressLimit, now) : TimeSpan.Zero;
        retryAfter = byUser > byAddress ? byUser : byAddress;
        return retryAfter > TimeSpan.Zero;
    }

    /// <summary>How long <paramref name="w"/> still refuses: zero unless it is full and not over.</summary>
    private TimeSpan Left(Window w, int limit, DateTimeOffset now)
    {
        lock (w)
        {
            var left = w.Start + _length - now;
            return left > TimeSpan.Zero && w.Failures >= limit ? left : TimeSpan.Zero;
        }
    }

    /// <summary>Raised on every recorded failure (metrics count them; no address or name is passed on).</summary>
    public event Action? FailureRecorded;

    /// <summary>Counts a wrong or malformed login as <paramref name="user"/> (empty when no name could be read).</summary>
    public void RecordFailure(IPAddress client, string user)
    {
        FailureRecorded?.Invoke();
        var now = _time.GetUtcNow();
        Count(_perUser, (client, user), now);
        Count(_perAddress, client, now);
    }

    private void Count<TKey>(ConcurrentDictionary<TKey, Window> windows, TKey key, DateTimeOffset now)
        where TKey : notnull
    {
        var w = windows.GetOrAdd(key, static (_, n) => new Window(n), now);
        lock (w)
        {
            if (now - w.Start >= _length)
            {
                w.Start = now;
                w.Failures = 0;
            }
            w.Failures++;
        }
        if (windows.Count > PruneAbove)
        {
            foreach (var (k, value) in windows)
            {
                if (now - value.Start >= _length)
                {
                    windows.TryRemove(k, out _);
                }
            }
        }
    }

    /// <summary>Address exactly, user name ignoring case (the directory's comparison): <c>Staff1</c> is <c>staff1</c>.</summary>
    private sealed class UserKeyComparer : IEqualityComparer<(IPAddress Client, string User)>
    {
        public static readonly UserKeyComparer Instance = new();

        public bool Equals((IPAddress Client, string User) x, (IPAddress Client, string User) y) =>
            x.Client.Equals(y.Client) && string.Equals(x.User, y.User, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode((IPAddress Client, string User) key) =>
            HashCode.Combine(key.Client, StringComparer.OrdinalIgnoreCase.GetHashCode(key.User));
    }
}
