using System.Globalization;
using System.Text.Json;
using FilterService.Audit;
using FilterService.Identity;
using FilterService.Notifications;
using FilterService.OperationalLog;
using FilterService.Policy;
using FilterService.Proxy;
using FilterService.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;
using FilterService.Runtime;
using FilterService.Settings;

namespace FilterService.Hosting;

/// <summary>
/// Builds and runs the service: the proxy listeners (ConnectMiddleware in front of Kestrel's HTTP/1.1) and the
/// admin endpoint on one Kestrel server, the live policy, the audit log. A bad configuration or policy at start
/// is reported in full and stops the service (fail closed).
/// </summary>
internal static class ProxyHost
{
    /// <summary>The Windows service's name and its Event Log source (deploy/windows/install.ps1 creates both).</summary>
    public const string WindowsServiceName = "SchoolFilter";

    /// <summary>Runs until SIGINT/SIGTERM. Exit codes: 0 stopped cleanly, 2 bad configuration or policy, 3 could not listen.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        // Before anything slow: a SIGHUP during start-up would otherwise end the process (see HangupLatch).
        using var hangup = HangupLatch.Register();
        var proxy = Build(args, services => { if (hangup is not null) services.AddSingleton(hangup); }, out var errors);
        if (proxy is null)
        {
            foreach (var e in errors)
            {
                Console.Error.WriteLine(e);
            }
            Console.Error.WriteLine($"The service did not start: {errors.Count} problem(s).");
            return 2;
        }
        await using (proxy)
        {
            foreach (var w in proxy.Warnings)
            {
                Console.Error.WriteLine(w);
            }
            try
            {
                await proxy.StartAsync(CancellationToken.None);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"error FS0002: cannot listen: {ex.Message}");
                return 3;
            }
            string listening = string.Join(", ", proxy.Listeners.Proxy), admin = string.Join(", ", proxy.Listeners.Admin);
            if (!proxy.App.Services.GetRequiredService<OperationalLogStatus>().TryWriteStartLine(listening, admin, proxy.Policy.Current.Version, proxy.Policy.Directory))
            {
                Console.Out.WriteLine($"Proxy listening on {listening}; admin on {admin}; policy {proxy.Policy.Current.Version} from {proxy.Policy.Directory}");
            }
            await proxy.App.WaitForShutdownAsync();
        }
        return 0;
    }

    private static PolicyLoad WithDirectoryMembers(PolicyLoad load, LdapDirectory members) => directory =>
    {
        var loaded = load(directory);
        return loaded.Snapshot is { } snapshot ? loaded with { Snapshot = snapshot.WithDirectoryMembers(members) } : loaded;
    };

    /// <summary>
    /// Kestrel's HTTP/1.1 settings for the proxy's requests, in one place so that the differential test of the lean HTTP
    /// stage's parser (tests/.../PlainRequestParserDifferentialTests.cs) runs Kestrel exactly as the service does. The
    /// process-wide switch refusing bare-LF line endings is set in <see cref="Build"/>.
    /// </summary>
    internal static void ConfigureHttp(KestrelServerOptions k, ProxyOptions proxy)
    {
        k.AddServerHeader = false;
        // An absolute-form target is the authority; Kestrel rejects a disagreeing Host unless told to let the target win.
        k.AllowHostHeaderOverride = true;
        // Kestrel folds "Connection: keep-alive, X-Secret" to "keep-alive"; this keeps every token the forwarder must drop.
        k.RequestHeaderEncodingSelector = ConnectionHeaderEncoding.Select;
        k.Limits.MaxRequestHeadersTotalSize = proxy.MaxHeadBytes;
        k.Limits.MaxRequestLineSize = proxy.MaxRequestLineBytes;
        k.Limits.RequestHeadersTimeout = proxy.HeadTimeout;
        k.Limits.KeepAliveTimeout = proxy.KeepAliveTimeout;
        k.Limits.MaxRequestBodySize = null; // uploads are streamed, not buffered
    }

    /// <summary>
    /// Builds the service without starting it. Returns null with every configuration and policy problem in
    /// <paramref name="errors"/>. <paramref name="configureServices"/> lets tests replace services (a
    /// <see cref="TimeProvider"/>) before the container is built.
    /// </summary>
    public static ProxyApp? Build(string[] args, Action<IServiceCollection>? configureServices, out IReadOnlyList<string> errors)
    {
        // Kestrel tolerates bare-LF line endings unless told otherwise; a proxy must not (request smuggling).
        AppContext.SetSwitch("Microsoft.AspNetCore.Server.Kestrel.DisableHttp1LineFeedTerminators", true);

        // A Windows service starts in System32: the content root (relative paths in appsettings.json) is the install folder.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = Microsoft.Extensions.Hosting.WindowsServices.WindowsServiceHelpers.IsWindowsService() ? AppContext.BaseDirectory : null,
        });
        // Each is a no-op unless the process runs under that service manager. systemd (its child, or PID 1 of a
        // container with NOTIFY_SOCKET): READY=1 once every listener is bound, STOPPING=1 on SIGTERM. Windows: service
        // start/stop. Their log settings (journald priorities, the Event Log) are replaced by AddOperationalLog below.
        builder.Host.UseSystemd();
        builder.Host.UseWindowsService(o => o.ServiceName = WindowsServiceName);
        var problems = new List<string>();
        var alerts = AlertOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, problems); // first: ServiceOptions.Bind returns null if any problem was found
        var pac = PacOptions.Bind(builder.Configuration, problems); // before ServiceOptions.Bind, as alerts
        var operationalLog = OperationalLogOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, problems,
            Environment.GetEnvironmentVariable("JOURNAL_STREAM")); // before ServiceOptions.Bind, as alerts
        var feeds = Feeds.FeedOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, problems); // issue 21, as alerts
        var ldap = LdapSettings.Bind(builder.Configuration, problems); // issue 22: Identity:Ldap, before ServiceOptions.Bind, as alerts
        var kerberos = KerberosSignIn.Bind(builder.Configuration, problems); // issue 22: Identity:Kerberos
        var reports = Admin.Reports.ReportsOptions.Bind(builder.Configuration, alerts, problems); // issue 19: Reports, as alerts
        var console = Admin.ConsoleOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, problems); // issue 18: the console, as alerts
        var options = ServiceOptions.Bind(builder.Configuration, builder.Environment.ContentRootPath, problems);
        if (options is null)
        {
            errors = problems.Select(p => "config: error FS0001: " + p).ToList();
            return null;
        }

        if (options.Proxy.InlineCompletions)
        {
            // Read by System.Net.Sockets when its first socket is made, which has not happened yet.
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT",
                options.Proxy.EffectiveSocketThreads.ToString(CultureInfo.InvariantCulture));
        }
        // The one place the proxy's settings become socket-transport settings; the tunnel loop's hand-over reads them too.
        builder.WebHost.UseSockets(o =>
        {
            o.UnsafePreferInlineScheduling = options.Proxy.InlineCompletions;
            o.WaitForDataBeforeAllocatingBuffer = !options.Proxy.IdleReadBuffers;
        });
        // Serilog writes the operational log (OperationalLog/README.md); the filters below and Logging:LogLevel still apply.
        // The Event Log source is the service's name, which deploy/windows/install.ps1 registers (the default would be the
        // assembly name, which no installer registers, and a virtual account may not create a source itself).
        builder.Logging.AddOperationalLog(operationalLog, WindowsServiceName, TimeProvider.System);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Off entirely: with any level enabled, hosting starts an Activity and a log scope for every request (about 2%
        // of a plain request's CPU in bench/load/profile.py --perf); it logs only request start and finish.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Information);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        var rejected = new RejectedRequestLogger();
        builder.Logging.AddProvider(rejected);
        builder.Logging.AddFilter<RejectedRequestLogger>(null, LogLevel.None);
        builder.Logging.AddFilter<RejectedRequestLogger>(RejectedRequestLogger.Category, LogLevel.Debug);
        var services = builder.Services;
        services.Configure<HostOptions>(h => h.ShutdownTimeout = options.Proxy.ShutdownTimeout);
        services.AddSingleton(options);
        services.AddSingleton(options.Proxy);
        services.AddSingleton(options.Admin);
        services.AddSingleton(options.Policy);
        services.AddSingleton(options.Audit);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ListenerRegistry>();
        services.AddHostedService<MemoryTrimmer>();
        if (Microsoft.Extensions.Hosting.Systemd.SystemdHelpers.IsSystemdService() && SystemdWatchdog.Requested() is { } watchdog)
        {
            services.AddHostedService(sp => new SystemdWatchdog(sp.GetRequiredService<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier>(), watchdog,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SystemdWatchdog>>()));
        }
        // Issue 22: every published policy asks the directory's member table for users users.csv does not know.
        services.AddSingleton(ldap);
        if (kerberos is not null)
        {
            services.AddSingleton(kerberos);
        }
        services.AddSingleton<LdapDirectory>();
        services.AddHostedService<LdapRefresher>();
        services.AddSingleton(sp => new PolicyStore(options.Policy.Path, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<PolicyStore>>(),
            new StatutoryGuard(options.Policy.StatutoryShrinkFraction, options.Policy.StatutoryMinEntries, options.Audit.Path),
            WithDirectoryMembers(sp.GetService<PolicyLoad>() ?? (d => PolicyModel.Documents.PolicyLoader.Load(d)), sp.GetRequiredService<LdapDirectory>())));
        services.AddHostedService(sp => new PolicyWatcher(sp.GetRequiredService<PolicyStore>(), options.Policy.Watch, options.Policy.ReloadDelay,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PolicyWatcher>>(), sp.GetService<HangupLatch>()));
        services.AddSingleton(sp => new AuthThrottle(options.Proxy.MaxAuthFailures, options.Proxy.MaxAuthFailuresPerAddress, options.Proxy.AuthFailureWindow, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ProxyAuthenticator>();
        services.AddSingleton(new ClientGate(options.Proxy.MaxConnectionsPerClient));
        services.AddSingleton<UpstreamConnector>();
        services.AddSingleton(sp => new AuditLog(options.Audit, sp.GetRequiredService<ILogger<AuditLog>>(), null,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<IDecisionObserver>(sp => sp.GetRequiredService<AuditLog>());
        services.AddTelemetry();
        services.AddAlerts(alerts!);
        Feeds.FeedsServiceCollectionExtensions.AddFeeds(services, feeds!, options);
        Admin.Reports.ReportsServiceCollectionExtensions.AddReports(services, builder.Configuration, options, alerts, reports!);
        services.AddSingleton<ProxyServices>();
        services.AddSingleton(rejected);
        ConsoleServiceCollectionExtensions.AddConsole(services, console); // issue 18: the console on the admin listeners
        var adminCertificate = Admin.ConsoleTls.Load(options.Admin, builder.Environment.ContentRootPath, TimeProvider.System, out var tlsProblem);
        if (tlsProblem is not null)
        {
            errors = ["config: error FS0001: " + tlsProblem];
            return null;
        }
        var quickStartCa = QuickStartCa.Apply(options.Proxy, builder.Environment.IsDevelopment(), builder.Environment.ContentRootPath, TimeProvider.System, out var caProblem);
        if (caProblem is not null)
        {
            errors = ["config: error FS0001: " + caProblem];
            return null;
        }
        InspectionAuthority? inspection = null;
        var trusted = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        try
        {
            if (options.Proxy.InspectionCaCertificate is { } caPem && options.Proxy.InspectionCaKey is { } caKey)
            {
                inspection = InspectionAuthority.Load(caPem, caKey, TimeProvider.System);
                services.AddSingleton(inspection);
                var ca = inspection; // FilterMetrics counts its leaf cache lookups and mints
                services.AddSingleton(new LeafCacheEvents(h => ca.LeafLookup += h, h => ca.LeafMinted += h));
            }
            if (options.Proxy.UpstreamTrustedCertificates is { } trustedPem)
            {
                var collection = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
                collection.ImportFromPemFile(trustedPem);
                foreach (var c in collection)
                {
                    trusted.Add(c.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256));
                }
            }
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
        {
            errors = [$"config: error FS0001: Proxy:InspectionCaCertificate/InspectionCaKey/UpstreamTrustedCertificates: {ex.Message}"];
            return null;
        }
        services.AddSingleton(sp => ForwardingStage.CreateInvoker(sp.GetRequiredService<UpstreamConnector>(), options.Proxy.UpstreamConnectTimeout, trusted));
        services.AddSingleton(new ProxyPages(inspection?.Certificate));
        services.AddSingleton(new ProxyAutoConfig(pac!));
        services.AddSingleton<ForwardingStage>();
        services.AddSingleton<LeanHttpStage>();
        bool tunnelLoop = options.Proxy.TunnelLoop && Libc.Supported;
        if (tunnelLoop)
        {
            services.AddSingleton<IConnectionListenerFactory>(sp => new TunnelLoopTransportFactory(sp.GetRequiredService<ProxyServices>(),
                sp.GetRequiredService<ClientGate>(), inspection is not null, sp.GetRequiredService<IOptions<SocketTransportOptions>>(),
                sp.GetRequiredService<ILoggerFactory>(), options.Proxy.EffectiveSocketThreads));
        }
        configureServices?.Invoke(services);

        var proxyListeners = new List<ListenOptions>();
        var adminListeners = new List<ListenOptions>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            ConfigureHttp(k, options.Proxy);
            foreach (var ep in options.Proxy.Listen)
            {
                k.Listen(tunnelLoop ? new TunnelLoopEndPoint(ep) : ep, lo =>
                {
                    lo.Protocols = HttpProtocols.Http1;
                    var sp = lo.ApplicationServices;
                    var http = new HttpDelegateHolder();
                    var lean = options.Proxy.LeanHttp ? sp.GetRequiredService<LeanHttpStage>() : null;
                    lo.Use(next => new ConnectMiddleware(next, http, inspection is not null, lean, sp.GetRequiredService<ProxyServices>(), sp.GetRequiredService<ClientGate>(),
                        sp.GetRequiredService<RejectedRequestLogger>(), sp.GetRequiredService<ILogger<ConnectMiddleware>>()).OnConnectionAsync);
                    if (inspection is not null)
                    {
                        // ConnectMiddleware -> TLS with a certificate minted for the tunnel's host -> (captured) HTTP/1.1.
                        lo.UseHttps(new TlsHandshakeCallbackOptions
                        {
                            HandshakeTimeout = options.Proxy.ClientHelloTimeout,
                            OnConnection = context => ValueTask.FromResult(new System.Net.Security.SslServerAuthenticationOptions
                            {
                                ServerCertificateContext = inspection.ContextFor(context.Connection.Features.Get<InspectedTunnel>()!.Host),
                                ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http11],
                            }),
                        });
                        lo.Use(next =>
                        {
                            http.Http = next;
                            return next;
                        });
                    }
                    proxyListeners.Add(lo);
                });
            }
            foreach (var ep in options.Admin.Listen)
            {
                k.Listen(ep, lo =>
                {
                    lo.Protocols = HttpProtocols.Http1;
                    if (adminCertificate is not null)
                    {
                        lo.UseHttps(adminCertificate); // Admin:Certificate: the console, /health and /metrics over HTTPS
                    }
                    adminListeners.Add(lo);
                });
            }
        });

        var app = builder.Build();
        app.Services.GetRequiredService<OperationalLogMetrics>();
        var store = app.Services.GetRequiredService<PolicyStore>();
        if (!store.LoadInitial(out var diagnostics))
        {
            errors = diagnostics.Count > 0 ? diagnostics : [$"{options.Policy.Path}: error FS0100: the policy did not load"];
            ((IDisposable)app).Dispose();
            return null;
        }

        if (inspection is null)
        {
            diagnostics = [.. diagnostics, .. InspectionWarnings.For(store.Current)];
        }

        if (quickStartCa is not null)
        {
            QuickStartCa.Log(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(QuickStartCa).FullName!), quickStartCa);
        }
        var stage = app.Services.GetRequiredService<ForwardingStage>();
        rejected.Attach(app.Services.GetRequiredService<ProxyServices>());
        var admin = new AdminEndpoint(store, app.Services.GetRequiredService<PrometheusBridge>(), app.Services.GetRequiredService<AuditLog>())
        {
            InspectionCa = inspection is not null,
        };
        // The branch decision first: a proxy request meets none of the console's middleware (Admin/ConsoleHosting).
        var adminPipeline = ConsoleHosting.Build(app, admin);
        app.Run(context => context.Features.Get<ProxyConnectionFeature>() is not null ? stage.InvokeAsync(context) : adminPipeline(context));
        errors = [];
        return new ProxyApp(app, options, store, app.Services.GetRequiredService<ListenerRegistry>(), proxyListeners, adminListeners, diagnostics);
    }
}

/// <summary>A built service: start it, find where it listens, stop it.</summary>
internal sealed class ProxyApp : IAsyncDisposable
{
    private readonly List<ListenOptions> _proxyListeners;
    private readonly List<ListenOptions> _adminListeners;

    public ProxyApp(WebApplication app, ServiceOptions options, PolicyStore policy, ListenerRegistry listeners,
        List<ListenOptions> proxyListeners, List<ListenOptions> adminListeners, IReadOnlyList<string> warnings)
    {
        App = app;
        Options = options;
        Policy = policy;
        Listeners = listeners;
        _proxyListeners = proxyListeners;
        _adminListeners = adminListeners;
        Warnings = warnings;
    }

    public WebApplication App { get; }
    public ServiceOptions Options { get; }
    public PolicyStore Policy { get; }
    public ListenerRegistry Listeners { get; }

    /// <summary>Diagnostics (warnings) from the initial load.</summary>
    public IReadOnlyList<string> Warnings { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await App.StartAsync(cancellationToken);
        // Kestrel writes the bound endpoint (the real port for port 0) back into each ListenOptions.
        Listeners.Set(_proxyListeners.Select(l => l.IPEndPoint!), _adminListeners.Select(l => l.IPEndPoint!));
    }

    public Task StopAsync(CancellationToken cancellationToken = default) => App.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
        }
        await App.DisposeAsync();
    }
}
