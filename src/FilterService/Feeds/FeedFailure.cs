namespace FilterService.Feeds;

/// <summary>Why a feed update kept the last good list. Each is a <c>reason</c> label of <c>filterservice_feed_failures_total</c>.</summary>
internal enum FeedFailure
{
    /// <summary>The server answered with an error status (after retries for 5xx, 408 and 429).</summary>
    HttpStatus,
    /// <summary>No answer: name not resolved, connection refused, TLS failed, timed out (after retries).</summary>
    Unreachable,
    /// <summary>Larger than <c>Feeds:MaxBytes</c> (announced or while streaming).</summary>
    TooLarge,
    /// <summary>The body ended before its announced length, or the archive was cut short.</summary>
    Truncated,
    /// <summary>The download's SHA-256 is not the one published beside it (or none was published).</summary>
    HashMismatch,
    /// <summary>The detached signature does not verify with the configured key (or there is none).</summary>
    BadSignature,
    /// <summary>The list does not parse: a malformed line in a statutory list (PM0205), or an archive without UT1 members.</summary>
    Malformed,
    /// <summary>A statutory list with no entries (PM0204).</summary>
    Empty,
    /// <summary>A statutory list below its shrink fraction or floor, not confirmed (<c>lists confirm</c>).</summary>
    Shrunk,
    /// <summary>The list passed its own checks but the policy reload with it was rejected; the file was rolled back.</summary>
    ReloadRejected,
    /// <summary>The list names credentials that are not configured.</summary>
    NoCredentials,
}

internal static class FeedFailures
{
    /// <summary>The metric label: snake case of the name (<c>hash_mismatch</c>).</summary>
    public static string Label(this FeedFailure failure) => failure switch
    {
        FeedFailure.HttpStatus => "http_status",
        FeedFailure.Unreachable => "unreachable",
        FeedFailure.TooLarge => "too_large",
        FeedFailure.Truncated => "truncated",
        FeedFailure.HashMismatch => "hash_mismatch",
        FeedFailure.BadSignature => "bad_signature",
        FeedFailure.Malformed => "malformed",
        FeedFailure.Empty => "empty",
        FeedFailure.Shrunk => "shrunk",
        FeedFailure.ReloadRejected => "reload_rejected",
        FeedFailure.NoCredentials => "no_credentials",
        _ => "other",
    };
}
