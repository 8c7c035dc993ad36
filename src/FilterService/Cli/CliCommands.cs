namespace FilterService.Cli;

// Throwaway stub so the proxy branch builds; main's real CliCommands replaces it on merge.
internal static class CliCommands
{
    public static bool IsCommand(string arg) => false;

    public static Task<int> RunAsync(string[] args) => Task.FromResult(1);
}
