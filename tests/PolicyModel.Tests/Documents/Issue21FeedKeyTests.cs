using System.Security.Cryptography;
using PolicyModel.Decisions;
using PolicyModel.Documents;
using PolicyModel.Matching;

namespace PolicyModel.Tests.Documents;

/// <summary>Issue 21: feed keys on a list (source, format, refresh, verify, key, credentials, hash) compile, and every bad one is a located error.</summary>
public sealed class Issue21FeedKeyTests
{
    private const string Head = """
        timezone: Europe/London
        clients: [10.0.0.0/8]
        roles: [pupil, staff]
        categories:
          social:
            lists:
              - { path: lists/social.txt, format: domains }
          feeds:
            lists:

        """;

    private const string Tail = "default: allow\n";

    /// <summary>The 1-based line of the first list under <c>feeds</c>.</summary>
    private static readonly int ListLine = Head.Count(c => c == '\n') + 1;

    private static TestPolicy Policy(string list)
    {
        var p = new TestPolicy(Head + list + Tail);
        p.Write("lists/feed.txt", "example.org\n");
        return p;
    }

    private static string Error(TestPolicy p)
    {
        var result = p.Load();
        Assert.False(result.Succeeded);
        return Assert.Single(result.Errors).ToString();
    }

    [Fact]
    public void Issue21_FeedKeys_Compile_IntoFeedSpecs()
    {
        using var p = Policy("""
                  - path: lists/feed.txt
                    format: hosts
                    source: https://lists.example.net/social.hosts
                    refresh: 12h
                    verify: sha256
                    credentials: members-feed
                  - path: lists/ctiru.sha256
                    format: domains
                    source: /var/spool/lists/ctiru.txt
                    hash: true

            """);
        p.Write("lists/ctiru.sha256", "# format: sha256\n" + TestPolicy.Sha("blocked.test") + "\n");
        var snapshot = p.Snapshot();
        Assert.Equal(2, snapshot.Feeds.Length);
        var https = snapshot.Feeds[0];
        Assert.Equal(("feeds", "lists/feed.txt", "https://lists.example.net/social.hosts", ListFormat.Hosts, TimeSpan.FromHours(12), FeedVerify.Sha256, "members-feed", false),
            (https.Category, https.ListPath, https.Source, https.Format, https.Refresh, https.Verify, https.Credentials, https.Hash));
        Assert.False(https.IsFile);
        Assert.Equal($"policy.yaml:{ListLine}:9", https.At.ToString());
        var file = snapshot.Feeds[1];
        Assert.True(file.IsFile);
        Assert.True(file.Hash);
        Assert.Equal(FeedSpec.DefaultRefresh, file.Refresh);
        Assert.Equal(ListFormat.Hashed, file.StoredFormat);
        // The list file itself is read in its stored (hashed) form.
        Assert.Equal("hashed", snapshot.Lists.Single(l => l.Path == "lists/ctiru.sha256").Format);
    }

    [Fact]
    public void Issue21_SignatureFeed_KeepsThePublicKey()
    {
        using var p = Policy("      - { path: lists/feed.txt, source: https://x.example/l.txt, verify: signature, key: feed-key.pem }\n");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        p.Write("feed-key.pem", key.ExportSubjectPublicKeyInfoPem());
        var feed = Assert.Single(p.Snapshot().Feeds);
        Assert.Equal(FeedVerify.Signature, feed.Verify);
        Assert.Equal(key.ExportSubjectPublicKeyInfoPem(), feed.PublicKeyPem);
    }

    [Theory]
    [InlineData("source: http://x.example/l.txt", "http:", "PM0206: source 'http://x.example/l.txt' must be an https:// URL (or a file path): a list fetched in clear text can be changed on the way")]
    [InlineData("source: https://me:secret@x.example/l.txt", "https:", "PM0206: source carries a user name or password; secrets never go in policy.yaml: name a configured credential with 'credentials:' (Feeds:Credentials:NAME)")]
    [InlineData("source: lists/feed.txt", "lists/feed.txt }", "PM0206: source is the list file 'lists/feed.txt' itself; name the file the other tool drops")]
    [InlineData("source: https://x.example/l.txt, refresh: soon", "soon", "PM0206: refresh 'soon' is not an interval such as 30m, 12h or 1d")]
    [InlineData("source: https://x.example/l.txt, refresh: 8d", "8d", "PM0206: refresh '8d' is outside 1s-7d")]
    [InlineData("source: https://x.example/l.txt, verify: sha265", "sha265", "PM0206: verify 'sha265' must be none, sha256 or signature; did you mean 'sha256'?")]
    [InlineData("source: https://x.example/l.txt, verify: signature", "signature", "PM0207: 'verify: signature' needs 'key': the publisher's ECDSA P-256 public key (PEM) in the policy directory")]
    [InlineData("source: https://x.example/l.txt, verify: signature, key: missing.pem", "missing.pem", "PM0207: key 'missing.pem' is not a readable file of at most 64 KB in the policy directory")]
    [InlineData("source: https://x.example/l.txt, key: k.pem", "k.pem", "PM0206: 'key' is only for 'verify: signature'")]
    [InlineData("source: https://x.example/l.txt, credentials: { user: me, password: secret }", "{ user", "PM0206: credentials must be the name of a configured credential (letters, digits, - and _; Feeds:Credentials:NAME), never the secret itself")]
    [InlineData("source: /srv/drop/l.txt, credentials: members", "members", "PM0206: credentials are for an https:// source")]
    [InlineData("source: https://x.example/l.txt, hash: true", "true", "PM0206: 'hash: true' needs 'format': the format of the plain download")]
    [InlineData("source: https://x.example/l.txt, format: ut1, hash: true", "true", "PM0206: 'hash: true' needs the format of the plain download (domains, hosts, adblock, dnsmasq), not ut1")]
    [InlineData("refresh: 1h", "1h", "PM0206: 'refresh' needs 'source': it says how list 'lists/feed.txt' is fetched, and this list has no feed")]
    public void Issue21_BadFeedKey_IsALocatedError(string keys, string at, string expected)
    {
        var line = $"      - {{ path: lists/feed.txt, {keys} }}";
        int column = line.IndexOf(at, StringComparison.Ordinal) + 1;
        using var p = Policy(line + "\n");
        p.Write("k.pem", "not a key");
        Assert.Equal($"policy.yaml:{ListLine}:{column}: error {expected}", Error(p));
    }

    [Fact]
    public void Issue21_KeyThatIsNotP256_IsPM0207()
    {
        using var p = Policy("      - { path: lists/feed.txt, source: https://x.example/l.txt, verify: signature, key: k.pem }\n");
        using var rsa = RSA.Create(2048);
        p.Write("k.pem", rsa.ExportSubjectPublicKeyInfoPem());
        Assert.StartsWith($"policy.yaml:{ListLine}:90: error PM0207: key 'k.pem' is not an ECDSA P-256 public key in PEM form", Error(p));
    }

    [Fact]
    public void Issue21_PasswordKeyOnAList_IsAnUnknownKey()
    {
        using var p = Policy("      - { path: lists/feed.txt, source: https://x.example/l.txt, password: secret }\n");
        Assert.StartsWith($"policy.yaml:{ListLine}:66: error PM0102: unknown key 'password' in a list", Error(p));
    }

    [Fact]
    public void Issue21_FeedListNotYetFetched_SaysHowToFetchIt()
    {
        using var p = Policy("      - { path: lists/absent.txt, source: https://x.example/l.txt }\n");
        Assert.Equal($"policy.yaml:{ListLine}:17: error PM0201: list file 'lists/absent.txt' not found; it has a feed: fetch it first with 'FilterService lists update --policy {p.Directory}'",
            Error(p));
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("12h", 43200)]
    [InlineData("1d", 86400)]
    public void Issue21_RefreshIntervals_Parse(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), FeedCompiler.ParseInterval(text));
}
