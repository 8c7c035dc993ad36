using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using FilterService.Tests.Cli;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// A school as its Linux devices see it over HTTPS (issue 17): the service as its own process on a copy of the default
/// sample, with an inspection CA made by <c>ca init</c> and trusted in an NSS database in a temporary HOME (certutil,
/// libnss3-tools), and 127.0.0.0/8 added to one of the sample's networks, so the local browser is a device on it
/// (<c>pupil-lan</c>: a pupil without signing in; <c>staffroom</c>: a device that must sign in).
/// </summary>
public sealed class ChromiumSchool : IAsyncDisposable
{
    private ChromiumSchool(ServiceProcess service, string home, string caCertificate, string audit, string outbox)
    {
        Service = service;
        Home = home;
        CaCertificate = caCertificate;
        Audit = audit;
        Outbox = outbox;
    }

    public ServiceProcess Service { get; }
    /// <summary>HOME for Chromium: its <c>.pki/nssdb</c> trusts <see cref="CaCertificate"/>.</summary>
    public string Home { get; }
    public string CaCertificate { get; }
    public string Audit { get; }
    public string Outbox { get; }

    /// <summary>
    /// Starts the service with 127.0.0.0/8 in <paramref name="network"/>; <paramref name="editPolicy"/> may change the
    /// sample's text further; <paramref name="settings"/> (<c>--Key=value</c>) follow the CA, policy and audit settings.
    /// </summary>
    public static async Task<ChromiumSchool> StartAsync(string network, Func<string, string>? editPolicy, params string[] settings)
    {
        var (_, caCert, caKey) = await CaCommandTests.InitAsync();
        var home = TempDir.Create("home");
        var nss = Path.Combine(home, ".pki", "nssdb");
        Directory.CreateDirectory(nss);
        await RunAsync("/usr/bin/certutil", "-N", "-d", "sql:" + nss, "--empty-password");
        await RunAsync("/usr/bin/certutil", "-A", "-d", "sql:" + nss, "-n", "test-ca", "-t", "C,,", "-i", caCert);

        var audit = TempDir.Create("audit");
        var outbox = TempDir.Create("outbox");
        var policy = Samples.CopyDefault();
        var yaml = Path.Combine(policy, "policy.yaml");
        var text = await File.ReadAllTextAsync(yaml);
        var edited = Regex.Replace(text, $@"(?m)^(  {Regex.Escape(network)}: +\{{ cidrs: \[)", "${1}127.0.0.0/8, ");
        Assert.NotEqual(text, edited);
        edited = editPolicy?.Invoke(edited) ?? edited;
        await File.WriteAllTextAsync(yaml, edited);
        var service = await ServiceProcess.StartAsync([
            $"--Policy:Path={policy}", $"--Audit:Path={audit}", $"--Alerts:Outbox:Path={outbox}", "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:InspectionCaCertificate={caCert}", $"--Proxy:InspectionCaKey={caKey}", .. settings]);
        return new ChromiumSchool(service, home, caCert, audit, outbox);
    }

    /// <summary>Runs <paramref name="file"/> (certutil) to completion, at most 30 s; fails the test on a non-zero exit.</summary>
    internal static async Task RunAsync(string file, params string[] args)
    {
        if (!File.Exists(file))
        {
            throw new Xunit.Sdk.XunitException($"{file} is not installed: run .ci/install-deps (apt-get install libnss3-tools)");
        }
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {await stderr}");
    }

    /// <summary>Debian's chromium, headless, through the proxy, with the temporary HOME (and so its NSS database).</summary>
    public Task<string> ChromiumAsync(string url, params string[] extra) =>
        Chromium.RunAsync(url, [.. Chromium.ThroughProxy(Service.ProxyPort), .. extra], Home);

    /// <summary>Chromium through the proxy driven over DevTools, answering the proxy's 407 with <paramref name="credentials"/>.</summary>
    public Task<ChromiumDevTools> DevToolsAsync(NetworkCredential? credentials = null) =>
        ChromiumDevTools.LaunchAsync(Service.ProxyPort, Home, credentials);

    /// <summary>Every audit record written so far.</summary>
    public List<JsonElement> AuditRecords() => AuditFiles.Read(Audit);

    /// <summary>Waits (10 s at most) for a record matching <paramref name="match"/>.</summary>
    public Task<JsonElement> WaitForAuditAsync(Func<JsonElement, bool> match, string what) => AuditFiles.WaitForAsync(Audit, match, what);

    public ValueTask DisposeAsync() => Service.DisposeAsync();
}
