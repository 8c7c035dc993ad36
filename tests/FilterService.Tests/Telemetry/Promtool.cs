using System.Diagnostics;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Telemetry;

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs Prometheus's tools (Debian package prometheus, installed by .ci/install-deps) with a hard time limit.</summary>
public static class Promtool
{
    public const string PromtoolPath = "/usr/bin/promtool";
    public const string PrometheusPath = "/usr/bin/prometheus";

    /// <summary>The repository's deploy/ directory, found upwards from the test binaries.</summary>
    public static string DeployDir => Path.GetFullPath(Path.Combine(Samples.DefaultDir, "..", ".."));

    public static async Task<ToolResult> RunAsync(string? stdin, string workingDirectory, params string[] args)
    {
        if (!File.Exists(PromtoolPath))
        {
            throw new Xunit.Sdk.XunitException("promtool is not installed: run .ci/install-deps (apt-get install prometheus)");
        }
        var psi = new ProcessStartInfo(PromtoolPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException("promtool did not finish in 60 s: " + string.Join(' ', args));
        }
        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }
}
