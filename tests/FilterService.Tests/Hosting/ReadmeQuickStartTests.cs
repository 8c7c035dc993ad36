using System.Text.RegularExpressions;

namespace FilterService.Tests.Hosting;

/// <summary>Issue 20 must-show: the README's quick start stays two commands, one to run on the bundled sample, one to test.</summary>
public sealed partial class ReadmeQuickStartTests
{
    [Fact]
    public void Readme_QuickStart_IsTwoCommands_RunTheSampleAndTest()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md")).ReplaceLineEndings("\n");
        var block = QuickStart().Match(readme);
        Assert.True(block.Success, "README.md: no '## Quick start' section with a sh block");
        var commands = block.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('#')[0].Trim()).ToList();
        Assert.Equal(["dotnet run --project src/FilterService", "dotnet test FilterService.sln"], commands);
    }

    [GeneratedRegex(@"## Quick start\n\n```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex QuickStart();
}
