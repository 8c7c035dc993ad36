using FilterService.Cli;
using FilterService.Proxy;

namespace FilterService.Hosting;

/// <summary>
/// The quick start's inspection CA (issue 17: "HTTPS block pages without hand work beyond trusting one certificate").
/// In the Development environment only (what <c>dotnet run --project src/FilterService</c> runs, through
/// Properties/launchSettings.json) and only when no CA is configured, the service uses <c>ca.crt</c> and
/// <c>ca.key</c> in <see cref="ProxyOptions.QuickStartCaDirectory"/>, making them with <c>ca init</c>'s code on the
/// first run. Any other environment (a deployed service is Production) never makes a CA: a school's CA is made once
/// with <c>ca init</c> and deployed to its devices, and one made silently would be trusted by none of them.
/// </summary>
internal static partial class QuickStartCa
{
    /// <summary>The nickname the logged certutil command gives the certificate in the NSS database.</summary>
    public const string NssNickname = "school-filter-quick-start";

    /// <summary>What <see cref="Apply"/> did: the directory and whether the CA was made on this run.</summary>
    public sealed record Outcome(string CertificatePath, string KeyPath, bool Created);

    /// <summary>
    /// Points <paramref name="proxy"/> at the quick-start CA when it applies (Development, no CA configured, a
    /// directory set), making the CA if the directory has none. Null when it does not apply or on error
    /// (<paramref name="error"/> set: a half CA, or a directory that cannot be written).
    /// </summary>
    public static Outcome? Apply(ProxyOptions proxy, bool development, string contentRoot, TimeProvider time, out string? error)
    {
        error = null;
        if (!development || proxy.InspectionCaCertificate is not null || proxy.InspectionCaKey is not null
            || string.IsNullOrWhiteSpace(proxy.QuickStartCaDirectory))
        {
            return null;
        }
        var dir = Path.GetFullPath(proxy.QuickStartCaDirectory, contentRoot);
        var cert = Path.Combine(dir, CaCommand.CertificateFile);
        var key = Path.Combine(dir, CaCommand.KeyFile);
        bool created = false;
        if (File.Exists(cert) != File.Exists(key))
        {
            // Making the missing half would give a key that does not match the certificate devices may already trust.
            error = $"Proxy:QuickStartCaDirectory: {(File.Exists(cert) ? key : cert)} is missing beside {(File.Exists(cert) ? cert : key)}; move the directory away to make a new CA";
            return null;
        }
        if (!File.Exists(cert))
        {
            if (CaCommand.Write(dir, "Quick start (development only)", 2, time.GetUtcNow()) is { } problem)
            {
                error = "Proxy:QuickStartCaDirectory: " + problem;
                return null;
            }
            created = true;
        }
        proxy.InspectionCaCertificate = cert;
        proxy.InspectionCaKey = key;
        return new Outcome(cert, key, created);
    }

    /// <summary>Says where the CA is and the one command that trusts it in Chromium's NSS database (Linux).</summary>
    public static void Log(ILogger logger, Outcome outcome)
    {
        var trust = $"certutil -d sql:$HOME/.pki/nssdb -A -t \"C,,\" -n {NssNickname} -i {outcome.CertificatePath}";
        if (outcome.Created)
        {
            LogCreated(logger, outcome.CertificatePath, outcome.KeyPath, trust);
        }
        else
        {
            LogUsing(logger, outcome.CertificatePath, trust);
        }
    }

    [LoggerMessage(EventId = 1590, Level = LogLevel.Warning,
        Message = "Quick start (Development): no inspection CA was configured, so one was made for HTTPS block pages: {Certificate} (key {Key}, owner-only). Trust it in Chromium on Linux with: {Trust} (docs/service.md, 'The quick start's CA'). A deployed service (Production) never makes one")]
    private static partial void LogCreated(ILogger logger, string certificate, string key, string trust);

    [LoggerMessage(EventId = 1591, Level = LogLevel.Warning,
        Message = "Quick start (Development): using the quick-start inspection CA {Certificate}. Trust it in Chromium on Linux with: {Trust}")]
    private static partial void LogUsing(ILogger logger, string certificate, string trust);
}
