namespace FilterService.Tests.TestSupport;

/// <summary>The default sample policy (a copy), a local origin, and the service between them.</summary>
public class ProxyFixture : IAsyncLifetime
{
    public TestOrigin Origin { get; private set; } = null!;
    public RunningService Service { get; private set; } = null!;
    public string PolicyDir { get; private set; } = null!;

    protected virtual string[] ExtraSettings => [];

    public async Task InitializeAsync()
    {
        PolicyDir = Samples.CopyDefault();
        Origin = await TestOrigin.StartAsync();
        Service = await RunningService.StartAsync(PolicyDir, Origin, ExtraSettings);
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public static class Samples
{
    /// <summary>The repository's deploy/samples/default, found upwards from the test binaries.</summary>
    public static string DefaultDir
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "deploy", "samples", "default");
                if (File.Exists(Path.Combine(candidate, "policy.yaml")))
                {
                    return candidate;
                }
            }
            throw new InvalidOperationException("deploy/samples/default not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A private copy of the default sample that a test may edit.</summary>
    public static string CopyDefault()
    {
        var dir = TempDir.Create("policy");
        TempDir.CopyDirectory(DefaultDir, dir);
        return dir;
    }
}
