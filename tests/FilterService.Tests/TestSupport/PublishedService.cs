namespace FilterService.Tests.TestSupport;

/// <summary>
/// The service as it ships: one deploy/debian/build-deb run (a self-contained <c>dotnet publish -r linux-x64</c>) per
/// test run, shared by every test that needs the package or the published output, and its unpacked tree.
/// </summary>
public static class PublishedService
{
    private static readonly Lazy<Task<string>> Package = new(BuildAsync);
    private static readonly Lazy<Task<string>> Unpacked = new(UnpackAsync);

    /// <summary>The built school-filter_*_amd64.deb (uncompressed: the tests read it, they do not ship it).</summary>
    public static Task<string> DebAsync() => Package.Value;

    /// <summary>The package's files unpacked (dpkg-deb -x): usr/lib/school-filter holds the published output.</summary>
    public static Task<string> TreeAsync() => Unpacked.Value;

    /// <summary>The self-contained executable in <see cref="TreeAsync"/>.</summary>
    public static async Task<string> ExecutableAsync() => Path.Combine(await TreeAsync(), "usr", "lib", "school-filter", "FilterService");

    private static async Task<string> BuildAsync()
    {
        var dist = TempDir.Create("deb");
        var (code, output) = await Command.RunAsync(TimeSpan.FromSeconds(300), Path.Combine(RepoPaths.Root, "deploy", "debian", "build-deb"), [dist],
            new Dictionary<string, string> { ["DEB_COMPRESS"] = "none" });
        if (code != 0)
        {
            throw new Xunit.Sdk.XunitException($"build-deb: exit {code}\n{output}");
        }
        return Assert.Single(Directory.GetFiles(dist, "school-filter_*_amd64.deb"));
    }

    private static async Task<string> UnpackAsync()
    {
        var tree = TempDir.Create("tree");
        var (code, output) = await Command.RunAsync(TimeSpan.FromSeconds(60), "dpkg-deb", "-x", await DebAsync(), tree);
        if (code != 0)
        {
            throw new Xunit.Sdk.XunitException($"dpkg-deb -x: exit {code}\n{output}");
        }
        return tree;
    }
}
