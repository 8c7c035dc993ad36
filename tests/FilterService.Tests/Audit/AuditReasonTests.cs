using System.Text.Json;
using FilterService.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Audit;

/// <summary>
/// Issue 20, log volume: records no longer carry the reason sentence. docs/service.md says how to recover it
/// (`check` gives the policy's version, `explain` on the record's fields gives the decision and its reason); this
/// holds that promise on a real record.
/// </summary>
public sealed class AuditReasonTests
{
    [Fact]
    public async Task Issue20_AuditRecord_HasNoReason_ExplainOnItsFieldsGivesItsRuleAndTheReason()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, origin);
        Assert.Equal(403, (await Curl.RunAsync("--proxy", service.ProxyUri.ToString(), "http://blocked-terror.test/why")).HttpCode);
        var record = await service.WaitForAuditAsync(r => r.Str("url") == "http://blocked-terror.test/why", "the block");
        Assert.False(record.TryGetProperty("reason", out _));

        var check = new StringWriter();
        Assert.Equal(0, await CliCommands.RunAsync(["check", "--policy", Samples.DefaultDir], check, new StringWriter(), new StringReader("")));
        Assert.Contains($"(version {record.Str("policy")}", check.ToString());

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        string[] args = ["explain", "--policy", Samples.DefaultDir, "--ip", record.Str("client")!, "--at", record.Str("time")!, "--url", record.Str("url")!, "--json"];
        if (record.Str("user") is { } user)
        {
            args = [.. args, "--user", user];
        }
        Assert.True(await CliCommands.RunAsync(args, stdout, stderr, new StringReader("")) == 0, stderr.ToString());
        using var explained = JsonDocument.Parse(stdout.ToString());
        Assert.Equal(record.Str("action"), explained.RootElement.GetProperty("action").GetString());
        Assert.Equal(record.Str("rule"), explained.RootElement.GetProperty("rule").GetString());
        Assert.Equal("blocked-terror.test is on the statutory terrorism list, which is blocked for everyone and cannot be overridden.",
            explained.RootElement.GetProperty("reason").GetString());
    }
}
