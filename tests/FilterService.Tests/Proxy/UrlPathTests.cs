using System.Security.Cryptography;
using System.Text;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// Issue 15 item 2 through the service run as its own process, as deployed: a statutory URL entry and the sample's
/// Wikipedia <c>paths:</c> rule hold for every way of writing the path, on both HTTP paths (lean and Kestrel).
/// </summary>
public sealed class UrlPathTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Item02_StatutoryUrlEntry_SlashPercentAndParameterForms_AreBlockedByTheRunningService(bool leanHttp)
    {
        await using var origin = await TestOrigin.StartAsync();
        var policy = Samples.CopyDefault();
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("stand-in.test/terror/recruitment")));
        await File.AppendAllTextAsync(Path.Combine(policy, "lists", "terrorism.sha256"), digest + "\n");
        await using var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}", $"--Proxy:LeanHttp={leanHttp}",
            "--Proxy:AllowLoopbackUpstream=true", $"--Proxy:HostOverrides:stand-in.test=127.0.0.1:{origin.HttpPort}",
            $"--Proxy:HostOverrides:en.wikipedia.org=127.0.0.1:{origin.HttpPort}"]);

        // The control: the host itself is not listed, so an unlisted path reaches the origin.
        var allowed = await Curl.RunAsync("--proxy", service.Proxy, "http://stand-in.test/hello");
        Assert.Equal(200, allowed.HttpCode);

        foreach (var path in new[]
        {
            "/terror/recruitment/x", "//terror/recruitment/x", "/terror//recruitment/x", "/terror%2frecruitment/x",
            "/%2fterror/recruitment/x", "/terror;x/recruitment/x", "/terror/recruitment;x", "/a/%2e%2e/terror/recruitment",
        })
        {
            var blocked = await Curl.RunAsync("--proxy", service.Proxy, "--path-as-is", "http://stand-in.test" + path);
            Assert.True(blocked.HttpCode == 403, $"{path}: {blocked.HttpCode} {blocked.Stderr}");
            Assert.Contains("statutory:terrorism", blocked.Body);
        }

        var edit = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "staff1:staff1-demo", "--path-as-is",
            "-X", "POST", "--data", "wpTextbox1=x", "http://en.wikipedia.org/w//index.php?title=X&action=submit");
        Assert.True(edit.HttpCode == 403, $"POST /w//index.php: {edit.HttpCode} {edit.Stderr}");
        Assert.Contains("no-wikipedia-edits", edit.Body);
    }
}
