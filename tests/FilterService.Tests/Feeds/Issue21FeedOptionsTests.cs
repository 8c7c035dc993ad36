using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Feeds;

/// <summary>Issue 21: the <c>Feeds</c> settings are validated with the rest, every problem reported at once.</summary>
public sealed class Issue21FeedOptionsTests
{
    [Fact]
    public void Issue21_BadFeedsSettings_StopTheServiceWithEveryProblem()
    {
        var notPem = Path.Combine(TempDir.Create("ca"), "ca.pem");
        File.WriteAllText(notPem, "not a certificate");
        var app = FilterService.Hosting.ProxyHost.Build(
            ["--Feeds:Retries=11", "--Feeds:MaxBytes=10", $"--Feeds:TrustedCaFile={notPem}", "--Feeds:Credentials:ctiru:Username=x", "--Feeds:Credentials:ctiru:Token=y",
             $"--Policy:Path={Samples.DefaultDir}"], null, out var errors);
        Assert.Null(app);
        Assert.Contains("config: error FS0001: Feeds:Retries: 11 is outside 0-10", errors);
        Assert.Contains("config: error FS0001: Feeds:MaxBytes: 10 is below 1024", errors);
        Assert.Contains($"config: error FS0001: Feeds:TrustedCaFile: '{notPem}' holds no PEM certificate", errors);
        Assert.Contains("config: error FS0001: Feeds:Credentials:ctiru: give Username and Password, or Token", errors);
    }
}
