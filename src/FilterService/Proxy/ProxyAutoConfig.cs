using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FilterService.Proxy;

/// <summary>
/// The PAC file (section <c>Pac</c>): served as <c>/proxy.pac</c> and <c>/wpad.dat</c> on the proxy port to the
/// policy's clients only. Everything goes through the proxy except plain host names (no dot), the hosts in
/// <see cref="DirectHosts"/> and addresses in <see cref="DirectNetworks"/>; there is no DIRECT fallback, so a proxy
/// that is down stops browsing instead of letting it go unfiltered.
/// </summary>
internal sealed class PacOptions
{
    /// <summary>host:port the clients should use; null: the Host the PAC request came in on (else the local endpoint).</summary>
    public string? ProxyAddress { get; set; }

    /// <summary>IPv4 networks (a.b.c.d/len) whose addresses, named in a URL, go DIRECT.</summary>
    public List<(IPAddress Network, int Length)> DirectNetworks { get; } = [];

    /// <summary>Host patterns that go DIRECT: <c>intranet.school.uk</c> (that host) or <c>*.school.uk</c> (every host under it, and itself).</summary>
    public List<string> DirectHosts { get; } = [];

    public static PacOptions? Bind(IConfiguration configuration, List<string> errors)
    {
        var o = new PacOptions();
        int before = errors.Count;
        foreach (var child in configuration.GetSection("Pac").GetChildren())
        {
            if (!new[] { "ProxyAddress", "DirectNetworks", "DirectHosts" }.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"Pac:{child.Key}: unknown setting");
            }
        }
        if (configuration["Pac:ProxyAddress"] is { Length: > 0 } address)
        {
            if (ProxyAutoConfig.IsHostAndPort(address))
            {
                o.ProxyAddress = address;
            }
            else
            {
                errors.Add($"Pac:ProxyAddress: '{address}' is not host:port");
            }
        }
        foreach (var text in List(configuration, "Pac:DirectNetworks"))
        {
            int slash = text.IndexOf('/');
            if (slash > 0 && IPAddress.TryParse(text.AsSpan(0, slash), out var network) && network.AddressFamily == AddressFamily.InterNetwork
                && text[..slash].Count(c => c == '.') == 3
                && int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int length) && length <= 32)
            {
                o.DirectNetworks.Add((Masked(network, length), length));
            }
            else
            {
                errors.Add($"Pac:DirectNetworks: '{text}' is not an IPv4 network (a.b.c.d/len)");
            }
        }
        foreach (var text in List(configuration, "Pac:DirectHosts"))
        {
            var pattern = text.ToLowerInvariant().TrimEnd('.');
            var name = pattern.StartsWith("*.", StringComparison.Ordinal) ? pattern[2..] : pattern;
            if (name.Length > 0 && name.Contains('.') && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.')
                && !name.Contains(".."))
            {
                o.DirectHosts.Add(pattern);
            }
            else
            {
                errors.Add($"Pac:DirectHosts: '{text}' is not a host name or *.domain");
            }
        }
        return errors.Count == before ? o : null;
    }

    private static IPAddress Masked(IPAddress network, int length)
    {
        var bytes = network.GetAddressBytes();
        uint value = (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
        uint mask = length == 0 ? 0 : uint.MaxValue << (32 - length);
        value &= mask;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    private static IEnumerable<string> List(IConfiguration configuration, string key)
    {
        var section = configuration.GetSection(key);
        return section.Value is { } scalar
            ? scalar.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(c => c.Value?.Trim() ?? "").Where(v => v.Length > 0);
    }
}

/// <summary>Generates and serves the PAC file; one instance, its text fixed except for the proxy address.</summary>
internal sealed class ProxyAutoConfig(PacOptions options)
{
    public const string ContentType = "application/x-ns-proxy-autoconfig";

    /// <summary>Whether an origin-form target names the PAC file.</summary>
    public static bool IsPacPath(string target) => target is "/proxy.pac" or "/wpad.dat";

    /// <summary>The PAC text telling clients to use <paramref name="proxyAddress"/> (host:port).</summary>
    public string Generate(string proxyAddress)
    {
        var js = new StringBuilder();
        js.Append("// School web filter: proxy auto-configuration, generated from the service's Pac settings.\n");
        js.Append("// No DIRECT fallback: if the filter is unreachable, browsing stops rather than going unfiltered.\n");
        js.Append("function FindProxyForURL(url, host) {\n");
        js.Append("  host = host.toLowerCase();\n");
        // No dot and no colon: an IPv6 literal has no dot either, and must not go DIRECT.
        js.Append("  if (host.indexOf(\".\") < 0 && host.indexOf(\":\") < 0) return \"DIRECT\";\n");
        foreach (var pattern in options.DirectHosts)
        {
            js.Append(pattern.StartsWith("*.", StringComparison.Ordinal)
                ? $"  if (host == \"{pattern[2..]}\" || dnsDomainIs(host, \"{pattern[1..]}\")) return \"DIRECT\";\n"
                : $"  if (host == \"{pattern}\") return \"DIRECT\";\n");
        }
        if (options.DirectNetworks.Count > 0)
        {
            // Only addresses written in the URL: resolving every name here would delay every page (and block WinHTTP).
            js.Append("  if (/^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$/.test(host)) {\n");
            foreach (var (network, length) in options.DirectNetworks)
            {
                uint mask = length == 0 ? 0 : uint.MaxValue << (32 - length);
                js.Append(CultureInfo.InvariantCulture, $"    if (isInNet(host, \"{network}\", \"{mask >> 24}.{(mask >> 16) & 255}.{(mask >> 8) & 255}.{mask & 255}\")) return \"DIRECT\";\n");
            }
            js.Append("  }\n");
        }
        js.Append(CultureInfo.InvariantCulture, $"  return \"PROXY {proxyAddress}\";\n");
        js.Append("}\n");
        return js.ToString();
    }

    /// <summary>The address to put in the PAC: the configured one, else the request's Host, else the local endpoint.</summary>
    public string AddressFor(string? hostHeader, IPAddress? local, int localPort)
    {
        if (options.ProxyAddress is { } configured)
        {
            return configured;
        }
        if (hostHeader is { Length: > 0 } && IsHostAndPort(hostHeader))
        {
            return hostHeader.ToLowerInvariant();
        }
        local ??= IPAddress.Loopback;
        if (local.IsIPv4MappedToIPv6)
        {
            local = local.MapToIPv4();
        }
        return local.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{local}]:{localPort}" : $"{local}:{localPort}";
    }

    /// <summary>Writes the PAC for this request (GET or HEAD); the caller has checked the client.</summary>
    public Task ServeAsync(HttpContext context)
    {
        var text = Generate(AddressFor(context.Request.Headers.Host, context.Connection.LocalIpAddress, context.Connection.LocalPort));
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ContentType;
        // Browsers re-fetch the PAC on network changes and at start; a short cache keeps a settings change quick to reach them.
        context.Response.Headers.CacheControl = "max-age=300";
        context.Response.ContentLength = Encoding.UTF8.GetByteCount(text);
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.WriteAsync(text);
    }

    /// <summary>host:port with a DNS name, a dotted IPv4 address or a bracketed IPv6 one, and a port 1-65535.</summary>
    public static bool IsHostAndPort(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            return false;
        }
        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            return IPAddress.TryParse(host[1..^1], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        }
        return Uri.CheckHostName(host) is UriHostNameType.Dns or UriHostNameType.IPv4;
    }
}
