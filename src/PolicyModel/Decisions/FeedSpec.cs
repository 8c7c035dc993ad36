using PolicyModel.Diagnostics;
using PolicyModel.Matching;

namespace PolicyModel.Decisions;

/// <summary>How a feed's download is proven to be the publisher's (<c>verify:</c> on a list).</summary>
public enum FeedVerify
{
    /// <summary>Only TLS: the download is whatever the server sent.</summary>
    None,
    /// <summary>A SHA-256 of the download, published beside it at <c>SOURCE.sha256</c> (hex, optionally followed by a name).</summary>
    Sha256,
    /// <summary>A detached ECDSA P-256 / SHA-256 signature at <c>SOURCE.sig</c> (DER or 64-byte raw), checked with <see cref="FeedSpec.PublicKeyPem"/>.</summary>
    Signature,
}

/// <summary>
/// Where a list file comes from and how it is kept current (<c>source:</c> and its companions on a list of policy.yaml).
/// The list's <see cref="ListPath"/> stays the file (or UT1 folder) the loader reads; the feed updater replaces it.
/// Immutable; equality is by value.
/// </summary>
/// <param name="ListPath">The list's <c>path</c>, relative to the policy directory.</param>
/// <param name="Source">An <c>https://</c> URL, or a full path of a file another tool drops (<see cref="IsFile"/>).</param>
/// <param name="Format">The format of the download: a list format, or <see cref="ListFormat.Ut1"/> for UT1's category tar.gz.</param>
/// <param name="PublicKeyPem">For <see cref="FeedVerify.Signature"/>: the PEM text of the publisher's public key (read at load).</param>
/// <param name="Credentials">The name of a configured credential (<c>Feeds:Credentials:NAME</c>); never the secret itself.</param>
/// <param name="Hash">Written in the hashed form while it streams: the plain list never rests on disk.</param>
public sealed record FeedSpec(
    string Category,
    string ListPath,
    bool Statutory,
    string Source,
    ListFormat Format,
    bool Exact,
    TimeSpan Refresh,
    FeedVerify Verify,
    string? KeyPath,
    string? PublicKeyPem,
    string? Credentials,
    bool Hash,
    SourceLocation At)
{
    /// <summary>Default <c>refresh</c>: IWF publishes twice a day; an hourly conditional request costs a 304.</summary>
    public static readonly TimeSpan DefaultRefresh = TimeSpan.FromHours(1);

    public static readonly TimeSpan MinRefresh = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxRefresh = TimeSpan.FromDays(7);

    /// <summary>The source is a local file, not a URL.</summary>
    public bool IsFile => !Source.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The format the loader reads the list file in: hashed when the feed is written hashed.</summary>
    public ListFormat StoredFormat => Hash ? ListFormat.Hashed : Format;
}
