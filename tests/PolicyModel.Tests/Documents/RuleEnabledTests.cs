using System.Net;
using PolicyModel.Decisions;

namespace PolicyModel.Tests.Documents;

/// <summary>Issue 18: a rule's <c>enabled: false</c> keeps it in the file, the engine skips it and explain's trace says so.</summary>
public sealed class RuleEnabledTests
{
    private static readonly DateTimeOffset Monday10 = DateTimeOffset.Parse("2026-11-23T10:00:00Z");

    private static string Policy(string enabled) => TestPolicy.Head + $"""
        rules:
          - name: pupils-social
            roles: [pupil]
            category: social
            action: block
        {enabled}
          - {"{"} name: pupils-facebook, roles: [pupil], hosts: [facebook.com], action: block {"}"}
        default: allow

        """;

    private static Decision Pupil(PolicySnapshot policy, string host) =>
        policy.Decide(new FilterRequest(IPAddress.Parse("10.40.1.5"), null, "GET", "http", host, 80, "/", Monday10), withTrace: true);

    [Fact]
    public void EnabledFalse_RuleIsSkipped_AndTheTraceSaysDisabled()
    {
        using var p = new TestPolicy(Policy("    enabled: false"));
        var policy = p.Snapshot();

        var d = Pupil(policy, "instagram.com");

        Assert.Equal(DecisionAction.Allow, d.Action);
        Assert.Contains(new TraceStep("rule pupils-social", false, "disabled (enabled: false)"), d.Trace);
        // A disabled rule covers nothing: the later, narrower rule is reachable (no PM0403) and decides.
        Assert.Equal("pupils-facebook", Pupil(policy, "facebook.com").Rule);
    }

    [Theory]
    [InlineData("")]
    [InlineData("    enabled: true")]
    public void EnabledTrueOrAbsent_RuleApplies(string enabled)
    {
        using var p = new TestPolicy(Policy(enabled).Replace("  - { name: pupils-facebook, roles: [pupil], hosts: [facebook.com], action: block }\n", ""));

        Assert.Equal("pupils-social", Pupil(p.Snapshot(), "instagram.com").Rule);
    }

    [Fact]
    public void EnabledNotABoolean_IsALocatedError()
    {
        using var p = new TestPolicy(Policy("    enabled: sometimes"));
        var line = Policy("").Split('\n').ToList().FindIndex(l => l.Contains("action: block", StringComparison.Ordinal)) + 2;

        Assert.Equal($"policy.yaml:{line}:14: error PM0114: enabled must be true or false, not 'sometimes'", Assert.Single(p.Load().Errors).ToString());
    }
}
