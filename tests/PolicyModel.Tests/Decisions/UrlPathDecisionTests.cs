using System.Net;
using PolicyModel.Decisions;

namespace PolicyModel.Tests.Decisions;

/// <summary>Issue 15 item 2 through the engine: statutory URL lists (plain UT1 and hashed) and <c>paths:</c> rules see one canonical path.</summary>
public sealed class UrlPathDecisionTests : IDisposable
{
    private const string Policy = TestPolicy.Head + """
          iwf:
            statutory: true
            lists: [ { path: lists/iwf, format: ut1 } ]
        rules:
          - { name: no-wikipedia-edits, roles: [staff], hosts: ["*.wikipedia.org"], methods: [POST], paths: ["/w/index.php*", "/w/api.php*"], action: block }
          - { name: no-admin, hosts: [example.org], paths: ["/Admin//./panel*"], action: block }
        default: allow
        """;

    private readonly TestPolicy _policy = new(Policy);
    private readonly PolicySnapshot _snapshot;

    public UrlPathDecisionTests()
    {
        Directory.CreateDirectory(Path.Combine(_policy.Directory, "lists", "iwf"));
        _policy.Write("lists/iwf/urls", "stand-in.test//abuse;x/%2Fimages\n");
        _policy.Write("lists/terror.sha256", "# format: sha256\n" + TestPolicy.Sha("blocked-terror.test") + "\n"
            + TestPolicy.Sha("stand-in.test/terror/recruitment") + "\n");
        _snapshot = _policy.Snapshot();
    }

    public void Dispose() => _policy.Dispose();

    private Decision Decide(string host, string path, string method = "GET", string? user = "staff1") =>
        _snapshot.Decide(new FilterRequest(IPAddress.Parse("10.30.1.5"), user, method, "http", host, 80, path,
            DateTimeOffset.Parse("2026-11-23T10:00:00Z")), withTrace: true);

    [Theory]
    [InlineData("/terror/recruitment/x")]
    [InlineData("//terror/recruitment/x")]
    [InlineData("/terror//recruitment/x")]
    [InlineData("/terror%2frecruitment/x")]
    [InlineData("/%2fterror/recruitment/x")]
    [InlineData("/terror;x/recruitment/x")]
    [InlineData("/terror/recruitment;x")]
    [InlineData("/x/%2e%2e/terror/recruitment")]
    public void Item02_HashedStatutoryUrlEntry_EveryPathForm_IsBlocked(string path)
    {
        var d = Decide("stand-in.test", path);
        Assert.Equal((DecisionAction.Block, "statutory:terrorism"), (d.Action, d.Rule));
        Assert.StartsWith("sha256:", d.Entry);
    }

    [Theory]
    [InlineData("/abuse/images/1.jpg")]
    [InlineData("//abuse//images/1.jpg")]
    [InlineData("/abuse%2fimages/1.jpg")]
    [InlineData("/ABUSE;jsessionid=1/Images")]
    public void Item02_PlainStatutoryUrlListEntry_CanonicalisedAtLoad_BlocksEveryPathForm(string path)
    {
        var d = Decide("www.stand-in.test", path);
        Assert.Equal((DecisionAction.Block, "statutory:iwf", "stand-in.test/abuse/images"), (d.Action, d.Rule, d.Entry));
    }

    [Theory]
    [InlineData("/w//index.php?title=X&action=submit")]
    [InlineData("/w/index.php?title=X&action=submit")]
    [InlineData("//w/index.php")]
    [InlineData("/w/%69ndex.php")]
    [InlineData("/w%2findex.php")]
    [InlineData("/w;x/index.php")]
    [InlineData("/x/../w/./index.php")]
    [InlineData("/W/Index.PHP")]
    [InlineData("/w\\api.php")]
    public void Item02_WikipediaEditRule_PathForms_AreBlockedForPost(string path)
    {
        Assert.Equal("no-wikipedia-edits", Decide("en.wikipedia.org", path, "POST").Rule);
        Assert.Equal(DecisionAction.Allow, Decide("en.wikipedia.org", path, "GET").Action);
    }

    [Theory]
    [InlineData("/admin/panel", true)]
    [InlineData("/admin//panel/x", true)]
    [InlineData("/ADMIN/panel", true)]
    [InlineData("/admin/panels", true)]
    [InlineData("/admin/x/panel", false)]
    [InlineData("/public/admin/panel", false)]
    public void Decide_PathPatternWrittenNonCanonically_IsCanonicalisedAtLoad(string path, bool blocked)
    {
        Assert.Equal(blocked, Decide("example.org", path).IsBlocked);
    }
}
