using System.Net;
using System.Net.Sockets;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Cli;

/// <summary>
/// Issue 20: <c>health</c>, the container's HEALTHCHECK (chiseled images have no curl), asks the running service's
/// /health and exits 0 only when it is ok. Run as its own process, as the container runtime runs it, against a real
/// service.
/// </summary>
public sealed class HealthCommandTests
{
    [Fact]
    public async Task Health_ServiceOk_Exits0AndSaysOkWithThePolicyVersion_NeverThroughAnEnvironmentProxy()
    {
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}"]);
        // A proxy from the environment that refuses every connection (port 9, discard, nothing listens): unused.
        var (code, output) = await HealthAsync(new() { ["HTTP_PROXY"] = "http://127.0.0.1:9/", ["http_proxy"] = "http://127.0.0.1:9/" },
            "--url", $"http://127.0.0.1:{service.AdminPort}/health");
        Assert.True(code == 0, output);
        Assert.Matches($@"^ok: policy [0-9a-f]{{12}} \(http://127\.0\.0\.1:{service.AdminPort}/health\)$", output);
    }

    [Fact]
    public async Task Health_NoUrl_AsksWhereTheServiceSettingsSayItListens_AWildcardOnLoopback()
    {
        int port = FreePort();
        await using var service = await ServiceProcess.StartAsync(
            [$"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}", $"--Admin:Listen=127.0.0.1:{port}"]);
        // The container's settings file says 0.0.0.0:9090; here the same file with the port the service took.
        var root = TempDir.Create("contentroot");
        File.WriteAllText(Path.Combine(root, "appsettings.json"),
            File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "container", "appsettings.json")).Replace("0.0.0.0:9090", $"0.0.0.0:{port}"));
        var (code, output) = await HealthAsync(new() { ["DOTNET_CONTENTROOT"] = root });
        Assert.True(code == 0, output);
        Assert.EndsWith($"(http://127.0.0.1:{port}/health)", output);
    }

    [Fact]
    public async Task Health_ServiceDegraded_Exits1AndNamesTheProblem()
    {
        var policy = Samples.CopyDefault();
        File.AppendAllText(Path.Combine(policy, "policy.yaml"),
            "\ntenant_restrictions:\n  roles: [pupil]\n  microsoft: { tenants: [cherryoak.onmicrosoft.com], context: 6c3e5c2a-1f47-4b8e-9d2a-0c5b7e8f9a10 }\n");
        await using var service = await ServiceProcess.StartAsync([$"--Policy:Path={policy}", $"--Audit:Path={TempDir.Create("audit")}"]);
        var (code, output) = await HealthAsync(null, "--url", $"http://127.0.0.1:{service.AdminPort}/health");
        Assert.Equal(1, code);
        Assert.StartsWith("degraded: tenant_restrictions (microsoft) cannot apply without an inspection CA", output);
    }

    [Fact]
    public async Task Health_NothingListening_Exits1WithALocatedError()
    {
        int port = FreePort();
        var (code, output) = await HealthAsync(null, "--url", $"http://127.0.0.1:{port}/health", "--timeout", "10");
        Assert.Equal(1, code);
        Assert.StartsWith($"error FS0010: http://127.0.0.1:{port}/health: Connection refused", output);
    }

    [Fact]
    public async Task Health_AdminEndpointOff_Exits1SayingThereIsNothingToAsk()
    {
        var (code, output) = await HealthAsync(new() { ["Admin__Listen"] = "" });
        Assert.Equal(1, code);
        Assert.Equal("error FS0010: the admin endpoint is off (Admin:Listen is empty): there is no /health to ask; give --url", output);
    }

    /// <summary>The built service's <c>health</c> command as a process, in an empty content root unless the environment gives one.</summary>
    internal static Task<(int Code, string Output)> HealthAsync(Dictionary<string, string>? environment, params string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        environment ??= [];
        environment.TryAdd("DOTNET_CONTENTROOT", TempDir.Create("contentroot"));
        return Command.RunAsync(TimeSpan.FromSeconds(60), dotnet, [Path.Combine(AppContext.BaseDirectory, "FilterService.dll"), "health", .. args], environment);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
