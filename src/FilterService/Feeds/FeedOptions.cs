using PolicyModel.Files;

namespace FilterService.Feeds;

/// <summary>
/// How the service fetches list feeds (configuration section <c>Feeds</c>). What to fetch is in the policy
/// (<c>source:</c> on a list); how (where state is kept, limits, timeouts, secrets) is here. Defaults say why.
/// </summary>
internal sealed class FeedOptions
{
    /// <summary>Fetch feeds while the service runs. Default true; false leaves updates to <c>lists update</c> (cron).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where the feed state (validators, last success, last error) is kept. Default: <c>feeds</c> under <c>Audit:Path</c>, the state directory.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Largest download (and, for UT1 archives, the most bytes unpacked). Default 512 MB: the loader's limit for a list file.</summary>
    public long MaxBytes { get; set; } = PolicyFiles.MaxListBytes;

    /// <summary>Time allowed for one attempt (request and whole body). Default 5 min: a 30 MB list over a slow school line.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Retries after a failed attempt (unreachable, 5xx, 429, a truncated body). Default 3.</summary>
    public int Retries { get; set; } = 3;

    /// <summary>First retry delay; it doubles with each retry, with jitter (Polly). Default 10 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A PEM file of CA certificates trusted for feed servers instead of the system store: for a private feed server,
    /// and for tests. Default none (the system's trust store).
    /// </summary>
    public string? TrustedCaFile { get; set; }

    /// <summary>Credentials by the name a list's <c>credentials:</c> gives: <c>Feeds:Credentials:NAME:Username</c> and <c>:Password</c> (Basic), or <c>:Token</c> (Bearer).</summary>
    public Dictionary<string, FeedCredential> Credentials { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A JSON secrets file of the same shape (<c>{"NAME": {"Username": ..., "Password": ...}}</c>), read at each fetch; its entries win.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>Binds <c>Feeds</c> and validates it. Returns null with every problem in <paramref name="errors"/>.</summary>
    public static FeedOptions? Bind(IConfiguration configuration, string contentRoot, List<string> errors)
    {
        int before = errors.Count;
        var o = new FeedOptions();
        try
        {
            configuration.GetSection("Feeds").Bind(o, b => b.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add("Feeds: " + ex.Message);
            return null;
        }
        if (o.MaxBytes < 1024)
        {
            errors.Add($"Feeds:MaxBytes: {o.MaxBytes} is below 1024");
        }
        if (o.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"Feeds:Timeout: {o.Timeout} must be positive");
        }
        if (o.Retries is < 0 or > 10)
        {
            errors.Add($"Feeds:Retries: {o.Retries} is outside 0-10");
        }
        if (o.RetryDelay <= TimeSpan.Zero)
        {
            errors.Add($"Feeds:RetryDelay: {o.RetryDelay} must be positive");
        }
        foreach (var (key, path) in new[] { ("Feeds:TrustedCaFile", o.TrustedCaFile), ("Feeds:CredentialsFile", o.CredentialsFile) })
        {
            if (path is not null && !File.Exists(Path.GetFullPath(path, contentRoot)))
            {
                errors.Add($"{key}: file '{path}' does not exist");
            }
        }
        o.TrustedCaFile = o.TrustedCaFile is null ? null : Path.GetFullPath(o.TrustedCaFile, contentRoot);
        if (o.TrustedCaFile is { } ca && File.Exists(ca))
        {
            try
            {
                var certificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
                certificates.ImportFromPemFile(ca);
                if (certificates.Count == 0)
                {
                    errors.Add($"Feeds:TrustedCaFile: '{ca}' holds no PEM certificate");
                }
            }
            catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
            {
                errors.Add($"Feeds:TrustedCaFile: '{ca}' cannot be read as PEM certificates ({ex.Message})");
            }
        }
        o.CredentialsFile = o.CredentialsFile is null ? null : Path.GetFullPath(o.CredentialsFile, contentRoot);
        o.CacheDirectory = o.CacheDirectory is null ? null : Path.GetFullPath(o.CacheDirectory, contentRoot);
        foreach (var (name, c) in o.Credentials)
        {
            if (c.Token is null == (c.Username is null))
            {
                errors.Add($"Feeds:Credentials:{name}: give Username and Password, or Token");
            }
        }
        return errors.Count == before ? o : null;
    }
}

/// <summary>One named credential for a members-only feed. Never logged, never in /health.</summary>
internal sealed class FeedCredential
{
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string? Token { get; set; }

    public override string ToString() => "(credential)";
}
