using System.Diagnostics;

namespace FilterService.Tests.TestSupport;

internal static class ProcessExtensions
{
    /// <summary>Kills a child process the test started (if still running) and waits for it, at most 10 s. Never throws.</summary>
    public static async Task StopAsync(this Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(wait.Token);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or it would not die in time: the test's own assertions say what went wrong.
        }
    }
}
