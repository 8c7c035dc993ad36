using System.Globalization;
using Xunit.Abstractions;

namespace PolicyModel.Tests.Fuzz;

/// <summary>
/// Issue 15 item 10: mutated sample policies are rejected with located diagnostics, never with an exception.
/// In CI the run is seeded and bounded to about 25 seconds, and at least 200 policies; <c>FUZZ_POLICIES=100000</c> (with optional
/// <c>FUZZ_SEED</c>, <c>FUZZ_WORKERS</c>) runs a fixed count with no time bound (see README.md in this folder).
/// </summary>
public sealed class PolicyFuzzTests(ITestOutputHelper output)
{
    private static int? Env(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    [Fact]
    [Trait("Category", "Fuzz")]
    public void Item10_MutatedSamplePolicies_AreRejectedWithLocatedDiagnosticsNeverExceptions()
    {
        var count = Env("FUZZ_POLICIES");
        var seed = Env("FUZZ_SEED") ?? 1_500_000;
        var workers = Env("FUZZ_WORKERS") ?? 1;
        var budget = count is null ? TimeSpan.FromSeconds(25) : TimeSpan.FromDays(1);

        var outcome = PolicyFuzz.Run(seed, count ?? int.MaxValue, atLeast: count ?? 200, budget, workers, flagSlow: count is not null);

        output.WriteLine($"seed {seed}: {outcome.Policies:N0} mutated policies in {outcome.Elapsed.TotalSeconds:F1} s " +
            $"({outcome.Rejected:N0} rejected, slowest load {outcome.Slowest.TotalMilliseconds:F0} ms), {outcome.Findings.Count} findings");
        Assert.True(outcome.Findings.Count == 0, string.Join("\n", outcome.Findings.Take(10)));
    }
}
