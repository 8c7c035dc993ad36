using FilterService.Hosting;
using FilterService.Proxy;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace FilterService.Tests.TestSupport;

/// <summary>The default sample policy (a copy), a local origin, and the service between them.</summary>
public class ProxyFixture : IAsyncLifetime
{
    public TestOrigin Origin { get; private set; } = null!;
    public RunningService Service { get; private set; } = null!;
    public string PolicyDir { get; private set; } = null!;

    protected virtual string[] ExtraSettings => [];

    public async Task InitializeAsync()
    {
        PolicyDir = Samples.CopyDefault();
        Origin = await TestOrigin.StartAsync();
        Service = await RunningService.StartAsync(PolicyDir, Origin, ExtraSettings);
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public static class Samples
{
    /// <summary>The repository's deploy/samples/default, found upwards from the test binaries.</summary>
    public static string DefaultDir
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "deploy", "samples", "default");
                if (File.Exists(Path.Combine(candidate, "policy.yaml")))
                {
                    return candidate;
                }
            }
            throw new InvalidOperationException("deploy/samples/default not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A private copy of the default sample that a test may edit.</summary>
    public static string CopyDefault()
    {
        var dir = TempDir.Create("policy");
        TempDir.CopyDirectory(DefaultDir, dir);
        return dir;
    }
}

/// <summary>
/// The two fast paths (<c>Proxy:LeanHttp</c>, <c>Proxy:TunnelLoop</c>) on and off: the four ways the service can serve.
/// "general" is Kestrel's HTTP/1.1 with the ForwardingStage and Kestrel's socket transport with ConnectMiddleware, the
/// path that also serves Windows.
/// </summary>
public sealed record FastPath(string Name, bool Lean, bool Loop)
{
    public static readonly IReadOnlyList<FastPath> All =
    [
        new("lean+loop", Lean: true, Loop: true),
        new("lean", Lean: true, Loop: false),
        new("loop", Lean: false, Loop: true),
        new("general", Lean: false, Loop: false),
    ];

    /// <summary>The combinations by name, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Names => new(All.Select(p => p.Name));

    /// <summary>Every combination with every one of <paramref name="values"/>, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string, T> Each<T>(params T[] values)
    {
        var data = new TheoryData<string, T>();
        foreach (var path in All)
        {
            foreach (var value in values)
            {
                data.Add(path.Name, value);
            }
        }
        return data;
    }

    public static FastPath Named(string name) => All.Single(p => p.Name == name);

    /// <summary>The settings that choose this combination.</summary>
    public string[] Settings => [$"--Proxy:LeanHttp={Lean}", $"--Proxy:TunnelLoop={Loop}"];

    public override string ToString() => Name;
}

/// <summary>
/// One service per fast-path combination (<see cref="FastPath.All"/>), started concurrently on one copy of the default
/// sample and one origin, so the four cost about one start. Tests take the combination's name as a theory argument.
/// </summary>
public abstract class FastPathFixture : IAsyncLifetime
{
    /// <summary>The host the path probe asks for: it reaches <see cref="Probe"/>, which keeps the bytes it was sent.</summary>
    public const string ProbeHost = "fast-path-probe.test";

    private readonly Dictionary<string, RunningService> _services = new();

    private readonly Dictionary<string, TestOrigin> _origins = new();

    public TestOrigin Origin { get; private set; } = null!;
    public string PolicyDir { get; private set; } = null!;
    internal Fuzz.RecordingOrigin Probe { get; private set; } = null!;

    protected virtual string[] ExtraSettings => [];

    /// <summary>Each combination gets an origin of its own (for one-shot origin state such as the /gated release).</summary>
    protected virtual bool OriginPerCombination => false;

    public RunningService this[string paths] => _services[paths];

    /// <summary>The origin behind the service for <paramref name="paths"/>.</summary>
    public TestOrigin OriginOf(string paths) => _origins.GetValueOrDefault(paths, Origin);

    public async Task InitializeAsync()
    {
        PolicyDir = Samples.CopyDefault();
        Origin = await TestOrigin.StartAsync();
        if (OriginPerCombination)
        {
            foreach (var path in FastPath.All.Skip(1))
            {
                _origins[path.Name] = await TestOrigin.StartAsync();
            }
        }
        Probe = Fuzz.RecordingOrigin.Start();
        var starting = FastPath.All.ToDictionary(p => p.Name, p => RunningService.StartAsync(PolicyDir, OriginOf(p.Name),
            [.. ExtraSettings, .. p.Settings, $"--Proxy:HostOverrides:{ProbeHost}=127.0.0.1:{Probe.Port}"]));
        try
        {
            await Task.WhenAll(starting.Values);
        }
        finally
        {
            foreach (var (name, task) in starting)
            {
                if (task.IsCompletedSuccessfully)
                {
                    _services[name] = task.Result;
                }
            }
        }
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_services.Values.Select(s => s.DisposeAsync().AsTask()));
        await Probe.DisposeAsync();
        foreach (var origin in _origins.Values.Append(Origin))
        {
            await origin.DisposeAsync();
        }
    }

    /// <summary>
    /// Shows that the service for <paramref name="paths"/> really takes its paths. The tunnel loop: with it on, a CONNECT
    /// to secure.test is counted as carried by the loop; with it off, no loop transport is registered and Kestrel's
    /// socket transport serves the same tunnel. The lean stage: it relays the client's header lines byte for byte, while
    /// Kestrel's parser (the general path) hands the ForwardingStage known headers under their canonical names, so a
    /// <c>user-agent</c> sent in lower case reaches the origin as sent only when the lean stage served it.
    /// </summary>
    public async Task AssertTakesItsPathsAsync(string paths)
    {
        var path = FastPath.Named(paths);
        var service = this[paths];
        var loops = service.App.App.Services.GetServices<IConnectionListenerFactory>().OfType<TunnelLoopTransportFactory>().ToList();
        long Carried() => loops.SelectMany(f => f.Loops).Sum(l => l.Carried);
        if (path.Loop)
        {
            Assert.Single(loops);
        }
        else
        {
            Assert.Empty(loops);
        }
        long before = Carried();
        await using (var raw = await RawClient.ConnectAsync(service.ProxyEndPoint))
        {
            await raw.SendAsync("CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 200", await raw.ReadHeadAsync(TimeSpan.FromSeconds(10)));
            using var tls = new System.Net.Security.SslStream(raw.Stream, leaveInnerStreamOpen: true, (_, _, _, _) => true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "secure.test" }, cts.Token);
            await tls.WriteAsync("GET /hello HTTP/1.1\r\nHost: secure.test\r\nConnection: close\r\n\r\n"u8.ToArray(), cts.Token);
            using var reader = new StreamReader(tls);
            Assert.Contains("Hello from the origin", await reader.ReadToEndAsync(cts.Token));
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (path.Loop && Carried() == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(path.Loop ? before + 1 : 0, Carried());

        string marker = $"{paths}-{Guid.NewGuid():N}";
        await using (var raw = await RawClient.ConnectAsync(service.ProxyEndPoint))
        {
            await raw.SendAsync($"GET http://{ProbeHost}/probe HTTP/1.1\r\nHost: {ProbeHost}\r\nuser-agent: {marker}\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 200", await raw.ReadHeadAsync(TimeSpan.FromSeconds(10)));
        }
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        Fuzz.OriginArrival? arrival = null;
        while (arrival is null)
        {
            arrival = Probe.Arrivals.FirstOrDefault(a => a.Text.Contains(marker, StringComparison.Ordinal));
            Assert.True(arrival is not null || DateTime.UtcNow < deadline, $"{paths}: the probe request never reached the origin");
            await Task.Delay(20);
        }
        string sent = path.Lean ? $"\r\nuser-agent: {marker}\r\n" : $"\r\nUser-Agent: {marker}\r\n";
        Assert.True(arrival.Text.Contains(sent, StringComparison.Ordinal), $"{paths}: expected {sent.Trim()} upstream, the origin got:\n{arrival.Text}");
    }
}
