namespace PolicyModel.Diagnostics;

/// <summary>PM02xx: category lists and feeds.</summary>
internal static partial class Messages
{
    // PM0201 list file not found or unreadable
    public static readonly DiagnosticMessage ListNotFound = new("PM0201", "list file '{0}' not found");
    public static readonly DiagnosticMessage ListNotFoundHasFeed = new("PM0201", "list file '{0}' not found; it has a feed: fetch it first with 'FilterService lists update --policy {1}'");
    public static readonly DiagnosticMessage ListUnreadable = new("PM0201", "cannot read list '{0}': {1}");

    // PM0202 malformed list line (warning)
    public static readonly DiagnosticMessage ListLineSkipped = new("PM0202", "{0}");
    public static readonly DiagnosticMessage ListLinesSkipped = new("PM0202", "{0} malformed lines skipped in all ({1} not shown)");

    // PM0203 unknown list format
    public static readonly DiagnosticMessage UnknownListFormat = new("PM0203", "unknown list format '{0}'{1} (auto, domains, hosts, adblock, ut1, hashed)");

    // PM0204 statutory list has no entries
    public static readonly DiagnosticMessage StatutoryListEmpty = new("PM0204", "statutory list '{0}' has no entries; refusing to run without it (fail closed)");

    // PM0205 malformed line in a statutory list (an error: a corrupted download must not open the list)
    public static readonly DiagnosticMessage StatutoryLineMalformed = new("PM0205", "malformed line in statutory list: {0}");
    public static readonly DiagnosticMessage StatutoryLinesMalformed = new("PM0205", "{0} malformed lines in statutory list '{1}' ({2} not shown); refusing it (fail closed)");

    // PM0206 bad or inconsistent feed key (`source`, `refresh`, `verify`, `credentials`, `hash`; a feed key without `source`; a secret in a `source` URL)
    public static readonly DiagnosticMessage FeedBadRefresh = new("PM0206", "refresh '{0}' is not an interval such as 30m, 12h or 1d");
    public static readonly DiagnosticMessage FeedBadVerify = new("PM0206", "verify '{0}' must be none, sha256 or signature{1}");
    public static readonly DiagnosticMessage FeedCredentialsNeedHttps = new("PM0206", "credentials are for an https:// source");
    public static readonly DiagnosticMessage FeedCredentialsNotAName = new("PM0206", "credentials must be the name of a configured credential (letters, digits, - and _; Feeds:Credentials:NAME), never the secret itself");
    public static readonly DiagnosticMessage FeedHashKeepsExact = new("PM0206", "'hash: true' cannot keep 'exact': a hashed list matches a host and its subdomains");
    public static readonly DiagnosticMessage FeedHashNeedsFormat = new("PM0206", "'hash: true' needs 'format': the format of the plain download");
    public static readonly DiagnosticMessage FeedHashWrongFormat = new("PM0206", "'hash: true' needs the format of the plain download (domains, hosts, adblock, dnsmasq), not {0}");
    public static readonly DiagnosticMessage FeedKeyWithoutSignature = new("PM0206", "'key' is only for 'verify: signature'");
    public static readonly DiagnosticMessage FeedKeyWithoutSource = new("PM0206", "'{0}' needs 'source': it says how list '{1}' is fetched, and this list has no feed");
    public static readonly DiagnosticMessage FeedRefreshOutOfRange = new("PM0206", "refresh '{0}' is outside 1s-7d");
    public static readonly DiagnosticMessage FeedSourceCarriesSecret = new("PM0206", "source carries a user name or password; secrets never go in policy.yaml: name a configured credential with 'credentials:' (Feeds:Credentials:NAME)");
    public static readonly DiagnosticMessage FeedSourceIsTheList = new("PM0206", "source is the list file '{0}' itself; name the file the other tool drops");
    public static readonly DiagnosticMessage FeedSourceNotHttps = new("PM0206", "source '{0}' must be an https:// URL (or a file path): a list fetched in clear text can be changed on the way");
    public static readonly DiagnosticMessage FeedSourceNotUrlOrPath = new("PM0206", "source must be an https:// URL or a file path");

    // PM0207 `verify: signature` without `key`, or a `key` that is not a readable ECDSA P-256 public key (PEM)
    public static readonly DiagnosticMessage FeedKeyNotEcdsa = new("PM0207", "key '{0}' is not an ECDSA P-256 public key in PEM form ({1})");
    public static readonly DiagnosticMessage FeedKeyNotP256 = new("PM0207", "key '{0}' is an EC key of {1} bits; feeds are verified with ECDSA P-256");
    public static readonly DiagnosticMessage FeedKeyUnreadable = new("PM0207", "key '{0}' is not a readable file of at most 64 KB in the policy directory");
    public static readonly DiagnosticMessage FeedSignatureNeedsKey = new("PM0207", "'verify: signature' needs 'key': the publisher's ECDSA P-256 public key (PEM) in the policy directory");
}
