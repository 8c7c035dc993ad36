namespace FilterService.Tests;

/// <summary>Locates the repository (the folder holding FilterService.sln) from the test output directory.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Sample(string name) => Path.Combine(Root, "deploy", "samples", name);

    /// <summary>Copies a directory tree to a fresh temporary folder, for tests that edit or break a policy.</summary>
    public static string CopyToTemp(string source)
    {
        var target = Path.Combine(Path.GetTempPath(), "fs-test-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (var dir in Directory.GetDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(source, target));
        }

        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(source, target));
        }

        return target;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FilterService.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FilterService.sln not found above " + AppContext.BaseDirectory);
    }
}
