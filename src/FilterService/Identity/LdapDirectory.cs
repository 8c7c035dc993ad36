using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using PolicyModel.Decisions;

namespace FilterService.Identity;

/// <summary>The outcome of <see cref="LdapDirectory.SignIn"/>.</summary>
internal enum DirectorySignIn
{
    /// <summary>The directory accepted the password (or, while it is down, a sign-in it accepted within <c>cached_valid_for</c>).</summary>
    Valid,
    /// <summary>Unknown user, wrong password, or a name that is not a sign-in name (<see cref="LdapNames.IsUserName"/>).</summary>
    Wrong,
    /// <summary>The directory cannot be asked and nothing cached vouches for these credentials: the policy's <c>on_directory_down</c> decides.</summary>
    Unreachable,
}

/// <summary>Whether the directory answered the last time it was asked, for /health and <c>filterservice_directory_up</c>.</summary>
internal sealed record DirectoryStatus(bool Up, DateTimeOffset Since, string? Problem, string? Url);

/// <summary>
/// The school's directory as the proxy sees it: sign-ins checked by binding (<see cref="LdapClient"/>), a short-lived
/// cache of successful sign-ins keyed on an HMAC of the credentials under a per-process random key (never the
/// password, and useless outside this process), the groups of everyone signed in (the engine's
/// <see cref="IDirectoryMembers"/>), refreshed by <see cref="LdapRefresher"/> and at each sign-in, and whether the
/// directory is up. Thread-safe. The blocking LDAP calls run on the thread pool, bounded by the policy's timeout.
/// </summary>
internal sealed partial class LdapDirectory : IDirectoryMembers
{
    private const int MaxCached = 50_000;

    private readonly LdapSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger<LdapDirectory> _logger;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, CachedSignIn> _signIns = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Member> _members = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Lazy<DirectorySignIn>> _inFlight = new(StringComparer.Ordinal);
    private DirectoryStatus _status;
    private long _bindFailures;
    private long _cacheHits;
    private long _cachedWhileDown;
    private long _defaultRole;
    private long _refused;
    private int _tryingWhileDown;

    private sealed record CachedSignIn(string User, DateTimeOffset VerifiedAt);

    private sealed record Member(DirectoryMember Entry, string Dn, DateTimeOffset LastSignIn);

    public LdapDirectory(LdapSettings settings, TimeProvider time, ILogger<LdapDirectory> logger)
    {
        _settings = settings;
        _time = time;
        _logger = logger;
        _status = new DirectoryStatus(true, time.GetUtcNow(), null, null);
    }

    public DirectoryStatus Status => Volatile.Read(ref _status);

    /// <summary>Passwords the directory refused (and names refused unasked for their shape).</summary>
    public long BindFailures => Interlocked.Read(ref _bindFailures);

    /// <summary>Requests let through on a cached sign-in without asking the directory.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    /// <summary>Sign-ins the directory could not check, by what happened: cached (still valid), default_role, refused.</summary>
    public (long Cached, long DefaultRole, long Refused) Fallbacks =>
        (Interlocked.Read(ref _cachedWhileDown), Interlocked.Read(ref _defaultRole), Interlocked.Read(ref _refused));

    public int CachedSignIns => _signIns.Count;

    public int Members => _members.Count;

    public DirectoryMember? Find(string userName) => _members.TryGetValue(userName, out var m) ? m.Entry : null;

    /// <summary>The cache key for a Proxy-Authorization header: HMAC-SHA256 under this process's random key.</summary>
    public string KeyOf(string header) => Convert.ToHexString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(header)));

    /// <summary>
    /// The user of a cached sign-in that may be used now without asking the directory: verified within
    /// <c>cache_ttl</c>, or within <c>cached_valid_for</c> while the directory is down. Inline; counts a hit.
    /// </summary>
    public bool TryCached(DirectoryPolicy policy, string key, out string user)
    {
        user = "";
        if (!_signIns.TryGetValue(key, out var cached))
        {
            return false;
        }
        var age = _time.GetUtcNow() - cached.VerifiedAt;
        if (age < policy.CacheTtl || (!Status.Up && age < policy.CachedValidFor))
        {
            user = cached.User;
            Interlocked.Increment(ref _cacheHits);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Checks <paramref name="user"/>'s password with the directory, reading their groups too. Blocking (run it on the
    /// thread pool); returns within about twice the policy's timeout even if the directory hangs.
    /// </summary>
    public DirectorySignIn SignIn(DirectoryPolicy policy, string key, string user, string password)
    {
        // A browser opens several connections at once, each with the same credentials: when the cached sign-in has
        // expired they share one conversation with the directory instead of one each.
        var shared = _inFlight.GetOrAdd(key, _ => new Lazy<DirectorySignIn>(() => SignInOnce(policy, key, user, password)));
        try
        {
            return shared.Value;
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Lazy<DirectorySignIn>>(key, shared));
        }
    }

    private DirectorySignIn SignInOnce(DirectoryPolicy policy, string key, string user, string password)
    {
        if (!LdapNames.IsUserName(user))
        {
            Interlocked.Increment(ref _bindFailures);
            LogNameRefused(_logger);
            return DirectorySignIn.Wrong;
        }
        // While the directory is down, one conversation at a time tries it: a hung server must not tie up a
        // thread-pool thread per sign-in attempt. The others are answered as unreachable at once.
        var down = !Status.Up;
        if (down && Interlocked.CompareExchange(ref _tryingWhileDown, 1, 0) != 0)
        {
            return Unreachable(policy, key, user, Status.Problem);
        }
        LdapResult result;
        try
        {
            result = Ask(policy, () => new LdapClient(policy, _settings).Check(user, password));
        }
        finally
        {
            if (down)
            {
                Volatile.Write(ref _tryingWhileDown, 0);
            }
        }
        var now = _time.GetUtcNow();
        switch (result.Answer)
        {
            case LdapAnswer.Valid:
                SetUp(policy);
                if (_signIns.Count >= MaxCached)
                {
                    _signIns.Clear();
                }
                _signIns[key] = new CachedSignIn(user, now);
                _members[user] = new Member(new DirectoryMember(user, result.DisplayName, result.Groups, now), result.Dn!, now);
                return DirectorySignIn.Valid;
            case LdapAnswer.Wrong:
                SetUp(policy);
                _signIns.TryRemove(key, out _);
                Interlocked.Increment(ref _bindFailures);
                return DirectorySignIn.Wrong;
            default:
                return Unreachable(policy, key, user, result.Problem);
        }
    }

    /// <summary>The directory could not check these credentials: a sign-in cached within <c>cached_valid_for</c> still stands.</summary>
    private DirectorySignIn Unreachable(DirectoryPolicy policy, string key, string user, string? problem)
    {
        SetDown(policy, problem);
        var now = _time.GetUtcNow();
        if (_signIns.TryGetValue(key, out var cached) && now - cached.VerifiedAt < policy.CachedValidFor)
        {
            Interlocked.Increment(ref _cachedWhileDown);
            if (_members.TryGetValue(user, out var m))
            {
                _members[user] = m with { LastSignIn = now };
            }
            return DirectorySignIn.Valid;
        }
        return DirectorySignIn.Unreachable;
    }

    /// <summary>
    /// Makes sure the engine knows <paramref name="user"/>'s groups (someone signed in by Kerberos, whose password the
    /// directory never sees): read now unless read within <c>cache_ttl</c>. While the directory cannot be asked, the
    /// groups last read stay; someone never read has no directory roles. Blocking.
    /// </summary>
    public void ReadMember(DirectoryPolicy policy, string user)
    {
        var now = _time.GetUtcNow();
        if (_members.TryGetValue(user, out var known) && now - known.Entry.ReadAt < policy.CacheTtl)
        {
            _members[user] = known with { LastSignIn = now };
            return;
        }
        var found = Ask(policy, () => new LdapClient(policy, _settings).Check(user, password: null));
        switch (found.Answer)
        {
            case LdapAnswer.Valid:
                SetUp(policy);
                _members[user] = new Member(new DirectoryMember(user, found.DisplayName, found.Groups, now), found.Dn!, now);
                break;
            case LdapAnswer.Wrong:
                SetUp(policy);
                _members.TryRemove(user, out _);
                break;
            default:
                SetDown(policy, found.Problem);
                if (known is not null)
                {
                    _members[user] = known with { LastSignIn = now };
                }
                break;
        }
    }

    /// <summary>Counts what the proxy did with a sign-in the directory could not check (metrics, /health).</summary>
    public void CountFallback(bool defaultRole)
    {
        Interlocked.Increment(ref defaultRole ? ref _defaultRole : ref _refused);
        LogFallback(_logger, defaultRole ? "given the network's default role" : "refused (407)");
    }

    /// <summary>
    /// Re-reads the groups of everyone signed in within <c>cached_valid_for</c> and of the users bound to addresses
    /// (<paramref name="boundUsers"/>), and forgets the rest; with nobody to read, checks that the service account can
    /// still bind. Blocking; called by <see cref="LdapRefresher"/>.
    /// </summary>
    public void Refresh(DirectoryPolicy policy, IReadOnlyList<string> boundUsers)
    {
        var now = _time.GetUtcNow();
        // Bound addresses sign nobody in: their users are read as if they had just signed in, at every refresh.
        foreach (var name in boundUsers)
        {
            if (!LdapNames.IsUserName(name))
            {
                continue;
            }
            if (_members.TryGetValue(name, out var bound))
            {
                _members[name] = bound with { LastSignIn = now };
                continue;
            }
            var found = Ask(policy, () => new LdapClient(policy, _settings).Check(name, password: null));
            if (found.Answer == LdapAnswer.Valid)
            {
                _members[name] = new Member(new DirectoryMember(name, found.DisplayName, found.Groups, now), found.Dn!, now);
            }
            else if (found.Answer == LdapAnswer.Unreachable)
            {
                SetDown(policy, found.Problem);
                return;
            }
        }
        foreach (var (name, member) in _members)
        {
            if (now - member.LastSignIn >= policy.CachedValidFor && now - member.LastSignIn >= policy.CacheTtl)
            {
                _members.TryRemove(new KeyValuePair<string, Member>(name, member));
            }
        }
        foreach (var (key, cached) in _signIns)
        {
            if (now - cached.VerifiedAt >= policy.CachedValidFor && now - cached.VerifiedAt >= policy.CacheTtl)
            {
                _signIns.TryRemove(new KeyValuePair<string, CachedSignIn>(key, cached));
            }
        }
        if (_members.IsEmpty)
        {
            var problem = Ask(policy, () => new LdapClient(policy, _settings).Probe() is { } p
                ? new LdapResult(LdapAnswer.Unreachable, Problem: p) : new LdapResult(LdapAnswer.Valid));
            if (problem.Answer == LdapAnswer.Valid)
            {
                SetUp(policy);
            }
            else
            {
                SetDown(policy, problem.Problem);
            }
            return;
        }
        foreach (var (name, member) in _members)
        {
            var result = Ask(policy, () => new LdapClient(policy, _settings).Check(name, password: null));
            switch (result.Answer)
            {
                case LdapAnswer.Valid:
                    SetUp(policy);
                    _members.TryUpdate(name, member with { Entry = member.Entry with { Groups = result.Groups, DisplayName = result.DisplayName, ReadAt = now } }, member);
                    break;
                case LdapAnswer.Wrong:
                    // Gone from the directory: no more roles from it, and no cached sign-in either.
                    SetUp(policy);
                    _members.TryRemove(name, out _);
                    foreach (var (key, cached) in _signIns)
                    {
                        if (string.Equals(cached.User, name, StringComparison.OrdinalIgnoreCase))
                        {
                            _signIns.TryRemove(key, out _);
                        }
                    }
                    break;
                default:
                    SetDown(policy, result.Problem);
                    return; // keep every member's last known groups until the directory answers again
            }
        }
    }

    /// <summary>Forgets everything (the policy no longer has a directory, or names a different one).</summary>
    public void Clear()
    {
        _signIns.Clear();
        _members.Clear();
        Volatile.Write(ref _status, new DirectoryStatus(true, _time.GetUtcNow(), null, null));
    }

    /// <summary>Runs one conversation on the thread pool and waits at most twice the timeout (plus a margin), on the injected clock, for it.</summary>
    private LdapResult Ask(DirectoryPolicy policy, Func<LdapResult> conversation)
    {
        var task = Task.Run(conversation);
        var bound = policy.Timeout * 2 + TimeSpan.FromSeconds(1);
        try
        {
            return task.WaitAsync(bound, _time).GetAwaiter().GetResult();
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            return new LdapResult(LdapAnswer.Unreachable, Problem: $"{policy.Url}: no answer within {bound.TotalSeconds:0.#} s");
        }
        catch (Exception ex)
        {
            // A conversation that ended just as the bound passed has its own outcome, answer or failure; a failure
            // LdapClient did not foresee is a directory that cannot be asked, never a sign-in.
            var failure = task.IsCompletedSuccessfully ? null : task.Exception?.InnerException ?? ex;
            return failure is null ? task.Result
                : new LdapResult(LdapAnswer.Unreachable, Problem: $"{policy.Url}: {failure.GetType().Name}: {failure.Message}");
        }
    }

    private void SetUp(DirectoryPolicy policy)
    {
        var was = Status;
        if (!was.Up || was.Url != policy.Url.ToString())
        {
            Volatile.Write(ref _status, new DirectoryStatus(true, _time.GetUtcNow(), null, policy.Url.ToString()));
            if (!was.Up)
            {
                LogUp(_logger, policy.Url.ToString());
            }
        }
    }

    /// <summary>Records that the directory could not be asked (a refresh that failed unexpectedly).</summary>
    public void MarkDown(DirectoryPolicy policy, string problem) => SetDown(policy, problem);

    private void SetDown(DirectoryPolicy policy, string? problem)
    {
        var was = Status;
        Volatile.Write(ref _status, new DirectoryStatus(false, was.Up ? _time.GetUtcNow() : was.Since, problem, policy.Url.ToString()));
        if (was.Up)
        {
            LogDown(_logger, problem ?? "no answer");
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Error, Message = "The directory cannot be asked: {Problem}. Cached sign-ins keep working for the policy's cached_valid_for; new ones follow on_directory_down")]
    private static partial void LogDown(ILogger logger, string problem);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "The directory {Url} answers again")]
    private static partial void LogUp(ILogger logger, string url);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "A sign-in the directory could not check was {What}")]
    private static partial void LogFallback(ILogger logger, string what);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "A proxy sign-in was refused without asking the directory: the user name is not a sign-in name (letters, digits, . _ - @)")]
    private static partial void LogNameRefused(ILogger logger);
}
