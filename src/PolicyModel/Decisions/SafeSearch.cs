using System.Collections.Frozen;
using System.Collections.Immutable;

namespace PolicyModel.Decisions;

/// <summary>YouTube's restricted mode: <c>restrict.youtube.com</c> or <c>restrictmoderate.youtube.com</c>.</summary>
public enum YouTubeMode
{
    Strict,
    Moderate,
}

/// <summary>
/// Where a locked role's request to a search provider connects instead of the host's own address: the provider's
/// documented safe-search name (the DNS CNAME target it asks networks to answer with). <see cref="Provider"/> is
/// google, bing, duckduckgo or youtube; <see cref="YouTube"/> is set for YouTube only (for the
/// <c>YouTube-Restrict</c> header under inspection).
/// </summary>
public sealed record SafeSearchTarget(string Provider, string Host, YouTubeMode? YouTube);

/// <summary>
/// The compiled <c>safe_search</c> section: which roles are locked, and the YouTube mode. Immutable; the lookup
/// allocates nothing.
/// </summary>
public sealed class SafeSearchPolicy
{
    public static readonly SafeSearchPolicy None = new(FrozenSet<string>.Empty, YouTubeMode.Strict);

    private static readonly SafeSearchTarget Google = new("google", "forcesafesearch.google.com", null);
    private static readonly SafeSearchTarget Bing = new("bing", "strict.bing.com", null);
    private static readonly SafeSearchTarget DuckDuckGo = new("duckduckgo", "safe.duckduckgo.com", null);
    private static readonly SafeSearchTarget YouTubeStrict = new("youtube", "restrict.youtube.com", YouTubeMode.Strict);
    private static readonly SafeSearchTarget YouTubeModerate = new("youtube", "restrictmoderate.youtube.com", YouTubeMode.Moderate);

    private static readonly FrozenSet<string> YouTubeHosts =
        new[] { "www.youtube.com", "m.youtube.com", "youtubei.googleapis.com", "youtube.googleapis.com", "www.youtube-nocookie.com" }.ToFrozenSet(StringComparer.Ordinal);

    private readonly FrozenSet<string> _roles;

    internal SafeSearchPolicy(FrozenSet<string> roles, YouTubeMode youtube)
    {
        _roles = roles;
        YouTube = youtube;
    }

    /// <summary>The locked roles, sorted (for <c>check</c> and docs).</summary>
    public IReadOnlyList<string> Roles => _roles.Order(StringComparer.Ordinal).ToArray();

    public YouTubeMode YouTube { get; }

    /// <summary>
    /// The safe-search target for <paramref name="host"/> (normalised, lower case) when any of
    /// <paramref name="roles"/> is locked; else null.
    /// </summary>
    public SafeSearchTarget? For(ImmutableArray<string> roles, string host)
    {
        if (_roles.Count == 0 || roles.IsDefaultOrEmpty || !Locked(roles))
        {
            return null;
        }
        return Target(host, YouTube);
    }

    private bool Locked(ImmutableArray<string> roles)
    {
        foreach (var r in roles)
        {
            if (_roles.Contains(r))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The provider's safe-search target for a search host, whoever asks; null for any other host.</summary>
    public static SafeSearchTarget? Target(string host, YouTubeMode youtube)
    {
        if (YouTubeHosts.Contains(host))
        {
            return youtube == YouTubeMode.Moderate ? YouTubeModerate : YouTubeStrict;
        }
        if (host is "www.bing.com" or "bing.com")
        {
            return Bing;
        }
        if (host is "duckduckgo.com" or "www.duckduckgo.com")
        {
            return DuckDuckGo;
        }
        return IsGoogleSearch(host) ? Google : null;
    }

    /// <summary>
    /// <c>google.com</c>, <c>google.CC</c>, <c>google.co.CC</c>, <c>google.com.CC</c>, each also with <c>www.</c>
    /// (CC two letters): Google's search hosts.
    /// </summary>
    internal static bool IsGoogleSearch(string host)
    {
        var h = host.AsSpan();
        if (h.StartsWith("www."))
        {
            h = h[4..];
        }
        if (!h.StartsWith("google."))
        {
            return false;
        }
        var suffix = h[7..];
        if (suffix.SequenceEqual("com"))
        {
            return true;
        }
        if (suffix.StartsWith("co.") || suffix.StartsWith("com."))
        {
            suffix = suffix[(suffix.IndexOf('.') + 1)..];
        }
        return suffix.Length == 2 && char.IsAsciiLetterLower(suffix[0]) && char.IsAsciiLetterLower(suffix[1]);
    }
}
