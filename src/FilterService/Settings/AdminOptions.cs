using System.Net;

namespace FilterService.Settings;

/// <summary>The admin endpoint (section <c>Admin</c>): health and metrics; the PAC file is served on the proxy port (section <c>Pac</c>).</summary>
internal sealed class AdminOptions
{
    /// <summary>Default 127.0.0.1:9090; empty turns the admin endpoint off.</summary>
    public List<IPEndPoint> Listen { get; set; } = new();

    /// <summary>A PEM certificate (chain) for HTTPS on the admin listeners (the console, /health, /metrics); with <see cref="CertificateKey"/>. Default: plain HTTP.</summary>
    public string? Certificate { get; set; }

    /// <summary>The PEM private key of <see cref="Certificate"/>.</summary>
    public string? CertificateKey { get; set; }
}
