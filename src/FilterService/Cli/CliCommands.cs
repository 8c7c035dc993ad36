using System.CommandLine;
using PolicyModel.Diagnostics;

namespace FilterService.Cli;

/// <summary>What a command line asks for (see <see cref="CliCommands.Classify"/>).</summary>
internal enum Invocation
{
    /// <summary>Start the service: no arguments, or only configuration settings.</summary>
    Service,
    /// <summary>One of the ICT manager's commands (or help).</summary>
    Command,
    /// <summary>A word that is neither a command nor a setting: answered with exit 2, never by starting the proxy.</summary>
    Unknown,
}

/// <summary>
/// The ICT manager's commands: <c>check</c>, <c>explain</c>, <c>hash-password</c>, <c>hash-list</c>, <c>lists confirm</c>, <c>ca init</c>/<c>ca export</c>, <c>health</c>, <c>admin</c>, <c>verify-history</c>, <c>decisions reindex</c>, <c>report weekly</c>, <c>review-pack</c>. Anything else on the
/// command line is configuration for the service (<c>--Key=value</c>).
/// </summary>
internal static class CliCommands
{
    /// <summary>The commands, in the order help lists them.</summary>
    public static readonly string[] CommandNames = ["check", "explain", "hash-password", "hash-list", "lists", "ca", "health", "admin", "verify-history", "decisions", "report", "review-pack"];

    private static readonly string[] Names = [.. CommandNames, "--help", "-h", "-?"];

    public static bool IsCommand(string arg) => Names.Contains(arg, StringComparer.Ordinal);

    /// <summary>
    /// A command if the first argument names one. Otherwise the service, provided every argument is a setting in one of
    /// the forms .NET's command-line configuration reads (<c>--Key=value</c>, <c>--Key value</c>, <c>/Key=value</c>,
    /// <c>Key=value</c>); a bare word that is not a setting's value (<c>chek</c>, <c>admin add</c>) is an unknown
    /// command. A mistyped command must never start the proxy on the default policy.
    /// </summary>
    public static Invocation Classify(IReadOnlyList<string> args)
    {
        if (args.Count > 0 && IsCommand(args[0]))
        {
            return Invocation.Command;
        }
        for (int i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith('-') || arg.StartsWith('/'))
            {
                if (!arg.Contains('='))
                {
                    i++; // --Key value: the next argument is the value, whatever it looks like
                }
            }
            else if (!arg.Contains('='))
            {
                return Invocation.Unknown;
            }
        }
        return Invocation.Service;
    }

    /// <summary>The first bare word of an <see cref="Invocation.Unknown"/> command line.</summary>
    internal static string UnknownWord(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith('-') || arg.StartsWith('/'))
            {
                if (!arg.Contains('='))
                {
                    i++;
                }
            }
            else if (!arg.Contains('='))
            {
                return arg;
            }
        }
        return args.Count > 0 ? args[0] : "";
    }

    /// <summary>Says what was not understood and what would be (exit 2, as for bad configuration).</summary>
    public static int Unknown(IReadOnlyList<string> args, TextWriter stderr)
    {
        var word = UnknownWord(args);
        stderr.WriteLine($"error FS0005: unknown command '{word}'{Suggestions.DidYouMean(word, CommandNames)}");
        stderr.WriteLine($"Commands: {string.Join(", ", CommandNames)} (--help for their options).");
        stderr.WriteLine("Run with no arguments, or only settings (--Key=value, as in docs/service.md), to start the service.");
        return 2;
    }

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
            CaCommand.Create(stdout, stderr, TimeProvider.System),
            HealthCommand.Create(stdout, stderr),
            AdminCommand.Create(stdout, stderr, stdin),
            VerifyHistoryCommand.Create(stdout, stderr),
            Admin.Decisions.DecisionsCommand.Create(stdout, stderr),
            ReportCommands.CreateReport(stdout, stderr, TimeProvider.System),
            ReportCommands.CreateReviewPack(stdout, stderr, TimeProvider.System),
        };
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        return await root.Parse(args).InvokeAsync(config);
    }
}
