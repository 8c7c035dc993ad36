using System.Globalization;
using System.Net;
using FilterService.Audit;
using FilterService.Policy;
using FilterService.Proxy;
using FilterService.Runtime;

namespace FilterService.Settings;

/// <summary>All the service's options, bound and validated together so every problem is reported at once.</summary>
internal sealed record ServiceOptions(ProxyOptions Proxy, AdminOptions Admin, PolicyOptions Policy, AuditOptions Audit)
{
    /// <summary>Binds every section and validates it. Returns null with every problem in <paramref name="errors"/>.</summary>
    public static ServiceOptions? Bind(IConfiguration configuration, string contentRoot, List<string> errors)
    {
        var proxy = new ProxyOptions();
        var admin = new AdminOptions();
        var policy = new PolicyOptions();
        var audit = new AuditOptions();
        BindSection(configuration, "Proxy", proxy, errors, "Listen", "ConnectPorts", "HostOverrides");
        BindSection(configuration, "Admin", admin, errors, "Listen");
        BindSection(configuration, "Policy", policy, errors);
        BindSection(configuration, "Audit", audit, errors, "Syslog");
        BindSection(configuration, "Audit:Syslog", audit.Syslog, errors);

        proxy.Listen = ReadEndPoints(configuration, "Proxy:Listen", "127.0.0.1:3128", errors);
        admin.Listen = ReadAdminListen(configuration, errors);
        foreach (var text in ReadList(configuration, "Proxy:ConnectPorts") ?? ["443"])
        {
            if (text == "*")
            {
                continue;
            }
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
            {
                proxy.ConnectPorts.Add(port);
            }
            else
            {
                errors.Add($"Proxy:ConnectPorts: '{text}' is not a port number (1-65535) or '*'");
            }
        }
        foreach (var child in configuration.GetSection("Proxy:HostOverrides").GetChildren())
        {
            if (child.Value is null || !EndPointText.TryParse(child.Value, out _))
            {
                errors.Add($"Proxy:HostOverrides:{child.Key}: '{child.Value}' is not address:port");
            }
            else
            {
                proxy.HostOverrides[child.Key.TrimEnd('.')] = child.Value;
            }
        }

        if (proxy.Listen.Count == 0)
        {
            errors.Add("Proxy:Listen: at least one address:port is required");
        }
        Positive(proxy.HeadTimeout, "Proxy:HeadTimeout", errors);
        Positive(proxy.ClientHelloTimeout, "Proxy:ClientHelloTimeout", errors);
        Positive(proxy.UpstreamConnectTimeout, "Proxy:UpstreamConnectTimeout", errors);
        Positive(proxy.TunnelIdleTimeout, "Proxy:TunnelIdleTimeout", errors);
        Positive(proxy.UpstreamReadTimeout, "Proxy:UpstreamReadTimeout", errors);
        Positive(proxy.KeepAliveTimeout, "Proxy:KeepAliveTimeout", errors);
        Positive(proxy.AuthFailureWindow, "Proxy:AuthFailureWindow", errors);
        Positive(proxy.ShutdownTimeout, "Proxy:ShutdownTimeout", errors);
        Positive(proxy.RefusalLogInterval, "Proxy:RefusalLogInterval", errors);
        if (proxy.MaxHeadBytes is < 1024 or > 1024 * 1024)
        {
            errors.Add($"Proxy:MaxHeadBytes: {proxy.MaxHeadBytes} is outside 1024-1048576");
        }
        if (proxy.SocketThreads is < 0 or > 256)
        {
            errors.Add($"Proxy:SocketThreads: {proxy.SocketThreads} is outside 0-256 (0: one per two cores)");
        }
        if (proxy.MaxConnectionsPerClient < 1)
        {
            errors.Add($"Proxy:MaxConnectionsPerClient: {proxy.MaxConnectionsPerClient} must be at least 1");
        }
        if (proxy.MaxAuthFailures < 1)
        {
            errors.Add($"Proxy:MaxAuthFailures: {proxy.MaxAuthFailures} must be at least 1");
        }
        if (proxy.MaxAuthFailuresPerAddress < proxy.MaxAuthFailures)
        {
            errors.Add($"Proxy:MaxAuthFailuresPerAddress: {proxy.MaxAuthFailuresPerAddress} must be at least Proxy:MaxAuthFailures ({proxy.MaxAuthFailures})");
        }
        if (string.IsNullOrWhiteSpace(proxy.ViaName) || proxy.ViaName.Any(c => c <= ' ' || c >= 127 || c is ',' or '(' or ')'))
        {
            errors.Add($"Proxy:ViaName: '{proxy.ViaName}' must be a token (no spaces, commas or parentheses)");
        }
        if ((proxy.InspectionCaCertificate is null) != (proxy.InspectionCaKey is null))
        {
            errors.Add("Proxy:InspectionCaCertificate and Proxy:InspectionCaKey must be set together");
        }
        if ((admin.Certificate is null) != (admin.CertificateKey is null))
        {
            errors.Add("Admin:Certificate and Admin:CertificateKey must be set together");
        }
        foreach (var (key, path) in new[] { ("Proxy:InspectionCaCertificate", proxy.InspectionCaCertificate), ("Proxy:InspectionCaKey", proxy.InspectionCaKey),
            ("Proxy:UpstreamTrustedCertificates", proxy.UpstreamTrustedCertificates), ("Admin:Certificate", admin.Certificate), ("Admin:CertificateKey", admin.CertificateKey) })
        {
            if (path is not null && !File.Exists(System.IO.Path.GetFullPath(path, contentRoot)))
            {
                errors.Add($"{key}: file '{path}' does not exist");
            }
        }
        Positive(policy.ReloadDelay, "Policy:ReloadDelay", errors);
        CheckStatutoryGuard(policy, errors);
        if (string.IsNullOrWhiteSpace(policy.Path))
        {
            errors.Add("Policy:Path: a policy directory is required");
        }
        else
        {
            policy.Path = ResolvePolicyPath(policy.Path, contentRoot);
            if (!Directory.Exists(policy.Path))
            {
                errors.Add($"Policy:Path: directory '{policy.Path}' does not exist");
            }
        }
        if (string.IsNullOrWhiteSpace(audit.Path))
        {
            errors.Add("Audit:Path: a log directory is required");
        }
        else
        {
            audit.Path = System.IO.Path.GetFullPath(audit.Path, contentRoot);
        }
        if (audit.RetainDays is < 1 or > 3650)
        {
            errors.Add($"Audit:RetainDays: {audit.RetainDays} is outside 1-3650");
        }
        if (audit.MaxBacklogBytes is < FilterService.Audit.AuditFile.ChunkSize or > 1L << 32)
        {
            errors.Add($"Audit:MaxBacklogBytes: {audit.MaxBacklogBytes} is outside {FilterService.Audit.AuditFile.ChunkSize}-{1L << 32}");
        }
        if (audit.FlushInterval < TimeSpan.FromMilliseconds(10) || audit.FlushInterval > TimeSpan.FromSeconds(60))
        {
            errors.Add($"Audit:FlushInterval: {audit.FlushInterval} is outside 00:00:00.010-00:01:00");
        }
        audit.Syslog.Validate(contentRoot, errors);
        foreach (var a in admin.Listen)
        {
            if (a.Port != 0 && proxy.Listen.Any(p => p.Port == a.Port && (p.Address.Equals(a.Address) || IsAny(p.Address) || IsAny(a.Address))))
            {
                errors.Add($"Admin:Listen: {a} overlaps a proxy listener");
            }
        }
        return errors.Count == 0 ? new ServiceOptions(proxy, admin, policy, audit) : null;
    }

    private static bool IsAny(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    private static string ResolvePolicyPath(string path, string contentRoot)
    {
        var full = System.IO.Path.GetFullPath(path, contentRoot);
        if (Directory.Exists(full) || System.IO.Path.IsPathRooted(path))
        {
            return full;
        }
        // `dotnet run --project src/FilterService` from elsewhere in the repository: look upwards for the relative path.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, path);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return full;
    }

    private static void Positive(TimeSpan value, string key, List<string> errors)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key}: {value} must be positive");
        }
    }

    /// <summary>The statutory shrink guard's settings, checked for the service and for <c>lists update</c>.</summary>
    internal static void CheckStatutoryGuard(PolicyOptions policy, List<string> errors)
    {
        if (!(policy.StatutoryShrinkFraction is >= 0 and <= 1))
        {
            errors.Add($"Policy:StatutoryShrinkFraction: {policy.StatutoryShrinkFraction} is outside 0-1");
        }
        if (policy.StatutoryMinEntries < 0)
        {
            errors.Add($"Policy:StatutoryMinEntries: {policy.StatutoryMinEntries} is negative");
        }
    }

    internal static void BindSection(IConfiguration configuration, string name, object target, List<string> errors, params string[] skip)
    {
        foreach (var child in configuration.GetSection(name).GetChildren())
        {
            if (skip.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }
            var property = target.GetType().GetProperty(child.Key,
                System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
            if (property is null)
            {
                errors.Add($"{name}:{child.Key}: unknown setting");
                continue;
            }
            try
            {
                var value = child.Get(property.PropertyType);
                if (value is not null)
                {
                    property.SetValue(target, value);
                }
            }
            catch (InvalidOperationException)
            {
                errors.Add($"{name}:{child.Key}: '{child.Value}' is not a valid {FriendlyType(property.PropertyType)}");
            }
        }
    }

    private static string FriendlyType(Type t) =>
        t == typeof(TimeSpan) ? "time span (hh:mm:ss)" : t == typeof(bool) ? "boolean (true/false)" : t == typeof(int) ? "whole number" :
        t.IsEnum ? $"value ({string.Join(", ", Enum.GetNames(t))})" : t.Name;

    /// <summary>A list setting given either as children (<c>Key:0</c>, <c>Key:1</c>) or as one comma-separated value.</summary>
    private static List<string>? ReadList(IConfiguration configuration, string key)
    {
        var section = configuration.GetSection(key);
        if (section.Value is { } scalar)
        {
            return scalar.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        }
        var children = section.GetChildren().Select(c => c.Value).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!.Trim()).ToList();
        return children.Count > 0 ? children : null;
    }

    /// <summary>Admin:Listen as the service binds it; also where the <c>health</c> command asks (Cli/HealthCommand).</summary>
    internal static List<IPEndPoint> ReadAdminListen(IConfiguration configuration, List<string> errors) =>
        ReadEndPoints(configuration, "Admin:Listen", "127.0.0.1:9090", errors);

    private static List<IPEndPoint> ReadEndPoints(IConfiguration configuration, string key, string fallback, List<string> errors)
    {
        var result = new List<IPEndPoint>();
        var section = configuration.GetSection(key);
        var items = section.Value is { Length: 0 } ? [] : ReadList(configuration, key) ?? [fallback];
        foreach (var text in items)
        {
            if (EndPointText.TryParse(text, out var ep))
            {
                result.Add(ep);
            }
            else
            {
                errors.Add($"{key}: '{text}' is not address:port (IPv6 as [address]:port)");
            }
        }
        return result;
    }
}
