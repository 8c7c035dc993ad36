using System.Net;
using System.Text.Json;
using FilterService.Hosting;

namespace FilterService.Tests.TestSupport;

/// <summary>The real service, in process, on real sockets (port 0), with its own audit directory.</summary>
public sealed class RunningService : IAsyncDisposable
{
    private readonly ProxyApp _app;

    private RunningService(ProxyApp app, string auditDir)
    {
        _app = app;
        AuditDir = auditDir;
    }

    internal ProxyApp App => _app;
    public string AuditDir { get; }
    public IPEndPoint ProxyEndPoint => _app.Listeners.Proxy[0];
    public int ProxyPort => ProxyEndPoint.Port;
    public int AdminPort => _app.Listeners.Admin[0].Port;
    public Uri ProxyUri => new($"http://127.0.0.1:{ProxyPort}");

    /// <summary>Starts the service on <paramref name="policyDir"/>; extra <c>--Key=value</c> settings may follow.</summary>
    public static Task<RunningService> StartAsync(string policyDir, TestOrigin? origin, params string[] extra) =>
        StartAsync(policyDir, origin, null, extra);

    /// <summary>As above; <paramref name="time"/> replaces the service's clock.</summary>
    public static Task<RunningService> StartAsync(string policyDir, TestOrigin? origin, TimeProvider? time, params string[] extra) =>
        StartWithServicesAsync(policyDir, origin, time is null ? null
            : services => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(services, time), extra);

    /// <summary>As above; <paramref name="configure"/> may replace services (a seam) before the container is built.</summary>
    internal static async Task<RunningService> StartWithServicesAsync(string policyDir, TestOrigin? origin,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configure, params string[] extra)
    {
        var auditDir = TempDir.Create("audit");
        var args = new List<string>
        {
            "--Proxy:Listen=127.0.0.1:0",
            "--Admin:Listen=127.0.0.1:0",
            $"--Policy:Path={policyDir}",
            $"--Audit:Path={auditDir}",
            "--Audit:SquidFormat=true",
            "--Audit:FlushInterval=00:00:00.100", // tests wait for records: a tenth of the default second each
            "--Policy:ReloadDelay=00:00:00.200",
            "--Policy:Watch=false", // inotify instances are a shared, small budget: only the reload tests watch
            "--Logging:LogLevel:Default=Warning",
        };
        if (origin is not null)
        {
            args.Add("--Proxy:AllowLoopbackUpstream=true");
            foreach (var host in new[] { "allowed.test", "www.example.org", "www.facebook.com", "example.com" })
            {
                args.Add($"--Proxy:HostOverrides:{host}=127.0.0.1:{origin.HttpPort}");
            }
            args.Add($"--Proxy:HostOverrides:secure.test=127.0.0.1:{origin.HttpsPort}");
        }
        args.AddRange(extra);
        var app = ProxyHost.Build(args.ToArray(), configure, out var errors)
            ?? throw new InvalidOperationException("service did not build:\n" + string.Join("\n", errors));
        await app.StartAsync(CancellationToken.None);
        return new RunningService(app, auditDir);
    }

    public HttpClient CreateClient(NetworkCredential? credentials = null, bool ignoreTls = false)
    {
        var handler = new SocketsHttpHandler
        {
            Proxy = new WebProxy(ProxyUri) { Credentials = credentials, BypassProxyOnLocal = false },
            UseProxy = true,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (ignoreTls)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Every audit record written so far (rolled and gzipped days included).</summary>
    public List<JsonElement> AuditRecords() => AuditFiles.Read(AuditDir);

    public List<string> SquidLines() => AuditFiles.ReadLines(AuditDir, "access-", ".log");

    /// <summary>Waits (at most 10 s) for an audit record matching <paramref name="match"/>.</summary>
    public async Task<JsonElement> WaitForAuditAsync(Func<JsonElement, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var found = AuditRecords().Where(match).ToList();
            if (found.Count > 0)
            {
                return found[^1];
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"no audit record for {what}; records:\n" + string.Join("\n", AuditRecords().Select(r => r.GetRawText())));
            }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public static class AuditExtensions
{
    public static string? Str(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static int Int(this JsonElement e, string name) => e.GetProperty(name).GetInt32();

    public static long Long(this JsonElement e, string name) => e.GetProperty(name).GetInt64();
}

public static class TempDir
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "filterservice-tests", Environment.ProcessId.ToString());

    public static string Create(string prefix)
    {
        var dir = Path.Combine(Root, prefix + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
