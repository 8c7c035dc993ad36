using System.Globalization;

namespace FilterService.Tests.TestSupport;

/// <summary>The seed of a seeded differential test: <c>DIFFTEST_SEED</c> when set (to replay or widen a run), else the test's own.</summary>
public static class DiffTestSeed
{
    public static int Get(int fallback) =>
        Environment.GetEnvironmentVariable("DIFFTEST_SEED") is { Length: > 0 } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
