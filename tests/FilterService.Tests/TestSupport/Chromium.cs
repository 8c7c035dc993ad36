using System.Diagnostics;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, installed by .ci/install-deps), headless, with the flags this machine needs
/// (no sandbox as root, no background networking to hosts it cannot reach) and a new empty profile per run.
/// </summary>
public static class Chromium
{
    public const string Path = "/usr/bin/chromium";

    /// <summary>Chromium's flags to use the proxy at <paramref name="port"/> for everything, loopback included.</summary>
    public static string[] ThroughProxy(int port) => [$"--proxy-server=http://127.0.0.1:{port}", "--proxy-bypass-list=<-loopback>"];

    /// <summary>
    /// How to start Chromium: headless, no sandbox (root), no GPU, QUIC or background networking, a new empty profile,
    /// 1200x900, then <paramref name="args"/>; <paramref name="home"/> sets HOME (for an NSS database in
    /// <c>HOME/.pki/nssdb</c>). Output redirected.
    /// </summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, string? home)
    {
        if (!File.Exists(Path))
        {
            throw new Xunit.Sdk.XunitException($"{Path} is not installed: run .ci/install-deps (apt-get install chromium chromium-driver)");
        }
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (home is not null)
        {
            psi.Environment["HOME"] = home;
        }
        foreach (var a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={TempDir.Create("chromium")}",
            "--window-size=1200,900",
        }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        return psi;
    }

    /// <summary>
    /// Runs Chromium on <paramref name="url"/> with <paramref name="args"/> (e.g. <c>--dump-dom</c>) and returns what it
    /// printed; fails the test if it exits non-zero or takes over 60 s. <paramref name="home"/> sets HOME (for an NSS
    /// database in <c>HOME/.pki/nssdb</c>).
    /// </summary>
    public static async Task<string> RunAsync(string url, IEnumerable<string> args, string? home = null)
    {
        var psi = StartInfo(args, home);
        psi.ArgumentList.Add(url);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"chromium did not finish in 60 s for {url}: {await stderr}");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
