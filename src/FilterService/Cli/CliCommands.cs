using System.CommandLine;

namespace FilterService.Cli;

/// <summary>
/// The ICT manager's commands: <c>check</c>, <c>explain</c>, <c>hash-password</c>, <c>hash-list</c>, <c>lists confirm</c>. Anything else on the
/// command line is configuration for the service (<c>--Key=value</c>).
/// </summary>
internal static class CliCommands
{
    private static readonly string[] Names = ["check", "explain", "hash-password", "hash-list", "lists", "--help", "-h", "-?"];

    public static bool IsCommand(string arg) => Names.Contains(arg, StringComparer.Ordinal);

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error, Console.In);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin)
    {
        var root = new RootCommand("School web filter: a filtering proxy. Run without a command to start the service.")
        {
            CheckCommand.Create(stdout),
            ExplainCommand.Create(stdout, stderr),
            HashCommands.CreateHashPassword(stdout, stdin),
            HashCommands.CreateHashList(stdout, stderr),
            ListsCommand.Create(stdout, TimeProvider.System),
        };
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        return await root.Parse(args).InvokeAsync(config);
    }
}
