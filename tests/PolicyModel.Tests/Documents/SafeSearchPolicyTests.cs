using System.Net;
using PolicyModel.Decisions;

namespace PolicyModel.Tests.Documents;

/// <summary>Issue 17, safe search locked on per role: the <c>safe_search</c> section compiled, and the snapshot's lookup.</summary>
public sealed class SafeSearchPolicyTests
{
    private const string Default = "default: allow\n";

    private static string[] Errors(string safeSearch)
    {
        using var p = new TestPolicy(TestPolicy.Head + Default + safeSearch);
        var result = p.Load();
        Assert.False(result.Succeeded);
        return result.Errors.Select(e => e.ToString()).ToArray();
    }

    [Fact]
    public void Issue17_SafeSearch_UnknownRole_And_BadYouTubeMode_AreLocated()
    {
        Assert.Equal([
            "policy.yaml:22:24: error PM0103: unknown role 'pupl'; did you mean 'pupil'?",
            "policy.yaml:22:40: error PM0602: safe_search youtube must be 'strict' or 'moderate', not 'loud'",
        ], Errors("safe_search: { roles: [pupl], youtube: loud }\n"));
    }

    [Fact]
    public void Issue17_SafeSearch_MissingRoles_And_UnknownKey_AreLocated()
    {
        Assert.Equal(["policy.yaml:22:14: error PM0101: safe_search: missing 'roles': the roles whose search is locked to safe search"],
            Errors("safe_search: { youtube: moderate }\n"));
        var unknown = Assert.Single(Errors("safe_search: { roles: [pupil], bing: strict }\n"));
        Assert.StartsWith("policy.yaml:22:32: error PM0102: ", unknown);
    }

    [Fact]
    public void Issue17_SafeSearch_LockedRoles_AreRedirected_OthersAreNot()
    {
        using var p = new TestPolicy(TestPolicy.Head + Default + "safe_search: { roles: [pupil, guest], youtube: moderate }\n");
        var snapshot = p.Snapshot();
        var pupil = snapshot.Identify(IPAddress.Parse("10.40.0.5"), null);
        var staff = snapshot.Identify(IPAddress.Parse("10.20.0.5"), "staff1");
        Assert.Equal(["guest", "pupil"], snapshot.SafeSearch.Roles);

        Assert.Equal(new SafeSearchTarget("google", "forcesafesearch.google.com", null), snapshot.SafeSearchFor(pupil, "www.google.com"));
        Assert.Equal("forcesafesearch.google.com", snapshot.SafeSearchFor(pupil, "www.google.co.uk")?.Host);
        Assert.Equal("forcesafesearch.google.com", snapshot.SafeSearchFor(pupil, "google.de")?.Host);
        Assert.Equal("forcesafesearch.google.com", snapshot.SafeSearchFor(pupil, "www.google.com.au")?.Host);
        Assert.Equal("strict.bing.com", snapshot.SafeSearchFor(pupil, "www.bing.com")?.Host);
        Assert.Equal("safe.duckduckgo.com", snapshot.SafeSearchFor(pupil, "duckduckgo.com")?.Host);
        Assert.Equal("safe.duckduckgo.com", snapshot.SafeSearchFor(pupil, "www.duckduckgo.com")?.Host);
        foreach (var yt in new[] { "www.youtube.com", "m.youtube.com", "youtubei.googleapis.com", "youtube.googleapis.com", "www.youtube-nocookie.com" })
        {
            Assert.Equal(new SafeSearchTarget("youtube", "restrictmoderate.youtube.com", YouTubeMode.Moderate), snapshot.SafeSearchFor(pupil, yt));
        }

        // Not search hosts: mail, maps' API, other Google services, look-alikes.
        foreach (var other in new[] { "mail.google.com", "maps.googleapis.com", "google.example.com", "notgoogle.com", "www.google.community", "example.org" })
        {
            Assert.Null(snapshot.SafeSearchFor(pupil, other));
        }
        // Staff are not locked.
        Assert.Null(snapshot.SafeSearchFor(staff, "www.google.com"));
        Assert.Null(snapshot.SafeSearchFor(staff, "www.youtube.com"));
    }

    [Fact]
    public void Issue17_SafeSearch_Absent_LocksNobody_YouTubeDefaultsToStrict()
    {
        using var none = new TestPolicy(TestPolicy.Head + Default);
        var snapshot = none.Snapshot();
        Assert.Null(snapshot.SafeSearchFor(snapshot.Identify(IPAddress.Parse("10.40.0.5"), null), "www.google.com"));

        using var strict = new TestPolicy(TestPolicy.Head + Default + "safe_search: { roles: [pupil] }\n");
        var locked = strict.Snapshot();
        Assert.Equal("restrict.youtube.com", locked.SafeSearchFor(locked.Identify(IPAddress.Parse("10.40.0.5"), null), "www.youtube.com")?.Host);
    }
}
