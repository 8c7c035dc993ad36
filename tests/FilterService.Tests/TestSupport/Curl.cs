using System.Diagnostics;

namespace FilterService.Tests.TestSupport;

public sealed record CurlResult(int ExitCode, string Body, string Stderr, int HttpCode, int ConnectCode);

/// <summary>Runs the real curl (installed by .ci/install-deps) with a hard time limit.</summary>
public static class Curl
{
    public static async Task<CurlResult> RunAsync(params string[] args)
    {
        if (!File.Exists("/usr/bin/curl"))
        {
            throw new Xunit.Sdk.XunitException("curl is not installed: run .ci/install-deps (apt-get install curl)");
        }
        var bodyFile = Path.Combine(TempDir.Create("curl"), "body");
        var psi = new ProcessStartInfo("/usr/bin/curl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-sS", "--max-time", "30", "-o", bodyFile, "-w", "%{http_code} %{http_connect}", "--noproxy", "" })
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Remove("http_proxy");
        psi.Environment.Remove("https_proxy");
        psi.Environment.Remove("HTTPS_PROXY");
        psi.Environment.Remove("ALL_PROXY");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException("curl did not finish in 45 s: " + string.Join(' ', args));
        }
        var codes = (await stdout).Split(' ');
        var body = File.Exists(bodyFile) ? await File.ReadAllTextAsync(bodyFile) : "";
        return new CurlResult(process.ExitCode, body, await stderr, int.Parse(codes[0]), codes.Length > 1 && int.TryParse(codes[1], out var c) ? c : 0);
    }
}
