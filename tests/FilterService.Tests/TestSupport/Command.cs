using System.Diagnostics;

namespace FilterService.Tests.TestSupport;

/// <summary>Runs a command to its end, bounded in time: its exit code and its output (stdout then stderr).</summary>
public static class Command
{
    public static async Task<(int Code, string Output)> RunAsync(TimeSpan timeout, string file, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Close(); // never a prompt (dpkg's conffile question): no terminal, no answer
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            await p.StopAsync();
            throw new Xunit.Sdk.XunitException($"{file} {string.Join(' ', args)} did not finish in {timeout}: {await stderr}");
        }
        return (p.ExitCode, (await stdout + await stderr).Trim());
    }

    public static Task<(int Code, string Output)> RunAsync(TimeSpan timeout, string file, params string[] args) =>
        RunAsync(timeout, file, (IEnumerable<string>)args);
}
