using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FilterService.Audit;

/// <summary>How audit records travel to the collector: plain TCP (RFC 6587) or TLS (RFC 5425).</summary>
internal enum SyslogTransport
{
    Tcp,
    Tls,
}

/// <summary>
/// Section <c>Audit:Syslog</c>: a copy of every audit record sent to a syslog collector (a school's SIEM) as RFC 5424
/// with octet-counting framing. The audit file stays the record of truth; the export never holds a request up.
/// </summary>
internal sealed class SyslogOptions
{
    /// <summary>Off unless set. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The collector's name or address. Required when enabled.</summary>
    public string? Host { get; set; }

    /// <summary>The collector's port. Default 0: 514 for <c>Tcp</c>, 6514 (RFC 5425) for <c>Tls</c>.</summary>
    public int Port { get; set; }

    /// <summary><c>Tcp</c> or <c>Tls</c>. Default Tcp.</summary>
    public SyslogTransport Transport { get; set; } = SyslogTransport.Tcp;

    /// <summary>
    /// PEM file of the CA(s) the collector's certificate must chain to (only these are trusted). Default: the system's
    /// trust store. Either way the certificate must name <see cref="ServerName"/>; there is no setting to skip the check.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>The name the collector's certificate must carry. Default: <see cref="Host"/>.</summary>
    public string? ServerName { get; set; }

    /// <summary>
    /// PEM certificate (and <see cref="ClientKey"/>, its PEM private key) this service presents to a collector that
    /// asks for one (mutual TLS, as RFC 5425 recommends; rsyslog's <c>StreamDriver.AuthMode="x509/certvalid"</c>). Default none.
    /// </summary>
    public string? ClientCertificate { get; set; }

    public string? ClientKey { get; set; }

    /// <summary>APP-NAME of every message (1-48 printable ASCII characters). Default school-filter.</summary>
    public string AppName { get; set; } = "school-filter";

    /// <summary>
    /// Facility, by name (<c>logaudit</c>, <c>local0</c>-<c>local7</c>, <c>auth</c>, <c>authpriv</c>, <c>daemon</c>,
    /// <c>user</c>) or number 0-23. Default logaudit (13), the facility RFC 5424 has for audit logs.
    /// </summary>
    public string Facility { get; set; } = "logaudit";

    /// <summary>Records held in memory while the collector is slow or away; beyond it they are dropped and counted. Default 100,000.</summary>
    public int QueueSize { get; set; } = 100_000;

    /// <summary>Longest wait between reconnection attempts (the first is after 0.5 s, doubling). Default 30 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    public int EffectivePort => Port != 0 ? Port : Transport == SyslogTransport.Tls ? 6514 : 514;

    /// <summary>The facility number (valid once <see cref="Validate"/> passed).</summary>
    public int FacilityCode => ParseFacility(Facility) ?? 13;

    private static readonly Dictionary<string, int> Facilities = new(StringComparer.OrdinalIgnoreCase)
    {
        ["kern"] = 0, ["user"] = 1, ["mail"] = 2, ["daemon"] = 3, ["auth"] = 4, ["syslog"] = 5, ["lpr"] = 6, ["news"] = 7,
        ["uucp"] = 8, ["cron"] = 9, ["authpriv"] = 10, ["ftp"] = 11, ["ntp"] = 12, ["logaudit"] = 13, ["logalert"] = 14,
        ["clock"] = 15, ["local0"] = 16, ["local1"] = 17, ["local2"] = 18, ["local3"] = 19, ["local4"] = 20,
        ["local5"] = 21, ["local6"] = 22, ["local7"] = 23,
    };

    private static int? ParseFacility(string? text) =>
        text is null ? null
        : Facilities.TryGetValue(text, out var code) ? code
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 0 and <= 23 ? n : null;

    /// <summary>Reads the PEM files now, so a bad one stops the start with its name rather than failing later.</summary>
    private void LoadCertificates(List<string> errors)
    {
        if (CaFile is not null && File.Exists(CaFile))
        {
            try
            {
                var cas = new X509Certificate2Collection();
                cas.ImportFromPemFile(CaFile);
                if (cas.Count == 0)
                {
                    errors.Add($"Audit:Syslog:CaFile: '{CaFile}' has no PEM certificate");
                }
            }
            catch (CryptographicException ex)
            {
                errors.Add($"Audit:Syslog:CaFile: '{CaFile}' is not a PEM certificate file: {ex.Message}");
            }
        }
        if (ClientCertificate is not null && ClientKey is not null && File.Exists(ClientCertificate) && File.Exists(ClientKey))
        {
            try
            {
                X509Certificate2.CreateFromPemFile(ClientCertificate, ClientKey).Dispose();
            }
            catch (CryptographicException ex)
            {
                errors.Add($"Audit:Syslog:ClientCertificate/ClientKey: '{ClientCertificate}' and '{ClientKey}' are not a PEM certificate and its key: {ex.Message}");
            }
        }
    }

    /// <summary>Adds every problem to <paramref name="errors"/>; resolves <see cref="CaFile"/> against <paramref name="contentRoot"/>.</summary>
    public void Validate(string contentRoot, List<string> errors)
    {
        if (!Enabled)
        {
            return;
        }
        if (string.IsNullOrWhiteSpace(Host))
        {
            errors.Add("Audit:Syslog:Host: the collector's name or address is required when Audit:Syslog:Enabled is true");
        }
        if (Port is < 0 or > 65535)
        {
            errors.Add($"Audit:Syslog:Port: {Port} is outside 1-65535");
        }
        if (CaFile is not null)
        {
            if (Transport != SyslogTransport.Tls)
            {
                errors.Add("Audit:Syslog:CaFile: only used with Audit:Syslog:Transport=Tls");
            }
            CaFile = Path.GetFullPath(CaFile, contentRoot);
            if (!File.Exists(CaFile))
            {
                errors.Add($"Audit:Syslog:CaFile: file '{CaFile}' does not exist");
            }
        }
        if ((ClientCertificate is null) != (ClientKey is null))
        {
            errors.Add("Audit:Syslog:ClientCertificate and Audit:Syslog:ClientKey must be set together");
        }
        if (ClientCertificate is not null && Transport != SyslogTransport.Tls)
        {
            errors.Add("Audit:Syslog:ClientCertificate: only used with Audit:Syslog:Transport=Tls");
        }
        foreach (var (key, path) in new[] { ("ClientCertificate", ClientCertificate), ("ClientKey", ClientKey) })
        {
            if (path is not null && !File.Exists(Path.GetFullPath(path, contentRoot)))
            {
                errors.Add($"Audit:Syslog:{key}: file '{Path.GetFullPath(path, contentRoot)}' does not exist");
            }
        }
        ClientCertificate = ClientCertificate is null ? null : Path.GetFullPath(ClientCertificate, contentRoot);
        ClientKey = ClientKey is null ? null : Path.GetFullPath(ClientKey, contentRoot);
        LoadCertificates(errors);
        if (AppName.Length is 0 or > 48 || AppName.Any(c => c is <= ' ' or > '~'))
        {
            errors.Add($"Audit:Syslog:AppName: '{AppName}' must be 1-48 printable ASCII characters without spaces");
        }
        if (ParseFacility(Facility) is null)
        {
            errors.Add($"Audit:Syslog:Facility: '{Facility}' is not a facility name (logaudit, local0-local7, auth, authpriv, daemon, user, ...) or a number 0-23");
        }
        if (QueueSize is < 1 or > 10_000_000)
        {
            errors.Add($"Audit:Syslog:QueueSize: {QueueSize} is outside 1-10000000");
        }
        if (MaxReconnectDelay < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"Audit:Syslog:MaxReconnectDelay: {MaxReconnectDelay} must be at least 00:00:00.5");
        }
    }
}
