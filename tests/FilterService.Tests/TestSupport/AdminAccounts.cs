using System.Diagnostics;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// Console accounts made the way a school makes its first one: the real CLI, <c>FilterService admin add --user NAME
/// --role ROLE</c>, as its own process, with the password on standard input. Give it the same settings as the
/// service (<see cref="ServiceProcess.StartAsync"/>'s, e.g. <c>--Audit:Path=DIR</c> or <c>--Console:DataPath=DIR</c>) so
/// both find the same console.db; the running service sees a new account at once (no restart).
/// </summary>
public static class AdminAccounts
{
    /// <summary>A password that passes the console's rules (12 characters or more); the default of <see cref="AddAsync"/>.</summary>
    public const string Password = "correct-horse-battery-staple";

    /// <summary>
    /// Adds account <paramref name="user"/> with <paramref name="role"/> (<c>ict-manager</c>, <c>dsl</c>, <c>auditor</c>)
    /// and <paramref name="password"/> (default <see cref="Password"/>); fails the test if the command does not exit 0.
    /// </summary>
    public static async Task AddAsync(IEnumerable<string> settings, string user, string role, string password = Password)
    {
        var (code, output) = await RunAsync(["admin", "add", "--user", user, "--role", role, .. settings], password + "\n");
        if (code != 0)
        {
            throw new Xunit.Sdk.XunitException($"admin add --user {user} --role {role} exited {code}: {output}");
        }
    }

    /// <summary>
    /// Runs the service's CLI (<c>dotnet FilterService.dll ARGS</c>) in the test output directory (the service's default
    /// content root) with <paramref name="stdin"/> as standard input; its exit code and output (stdout then stderr). At most 60 s.
    /// </summary>
    public static async Task<(int Code, string Output)> RunAsync(IEnumerable<string> args, string stdin = "")
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "FilterService.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            await process.StopAsync();
            throw new Xunit.Sdk.XunitException($"FilterService {string.Join(' ', args)} did not finish in 60 s: {await stderr}");
        }
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }
}
