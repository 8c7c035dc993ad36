namespace FilterService.Notifications;

/// <summary>
/// Safeguarding alerts (configuration section <c>Alerts</c>). A channel is on when its address is set: email when
/// <c>Alerts:Smtp:Host</c> is, the webhook when <c>Alerts:Webhook:Url</c> is. With neither, alerts are off but every
/// incident is still written to the outbox and logged.
/// </summary>
internal sealed class AlertOptions
{
    public SmtpSettings Smtp { get; set; } = new();
    public EmailSettings Email { get; set; } = new();
    public WebhookSettings Webhook { get; set; } = new();
    public OutboxSettings Outbox { get; set; } = new();
    public RetrySettings Retry { get; set; } = new();
    public CircuitSettings Circuit { get; set; } = new();

    /// <summary>Time allowed for one delivery attempt. Default 30 s (SmtpClient's own default is 100 s; a stuck server should not hold the queue that long).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a channel looks at the outbox when nothing new arrived (after a failure, for digests). Default 5 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Repeats of the same user, category and host within this window fold into one follow-up alert. Default 10 min.</summary>
    public TimeSpan FoldWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Low and medium alerts wait at most this long and go out together as one digest; zero sends them at once. Default 15 min. High never waits.</summary>
    public TimeSpan DigestInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The time zone alert texts show local times in. Default Europe/London.</summary>
    public string TimeZone { get; set; } = "Europe/London";

    public bool EmailEnabled => !string.IsNullOrWhiteSpace(Smtp.Host);
    public bool WebhookEnabled => !string.IsNullOrWhiteSpace(Webhook.Url);
    public bool AnyChannel => EmailEnabled || WebhookEnabled;

    /// <summary>The addresses in <see cref="EmailSettings.To"/>, split on commas and semicolons.</summary>
    public IReadOnlyList<string> Recipients =>
        (Email.To ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Binds <c>Alerts</c> and validates it. Returns null with every problem in <paramref name="errors"/>.</summary>
    public static AlertOptions? Bind(IConfiguration configuration, string contentRoot, List<string> errors)
    {
        int before = errors.Count;
        var o = new AlertOptions();
        try
        {
            configuration.GetSection("Alerts").Bind(o, b => b.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add("Alerts: " + ex.Message);
            return null;
        }

        if (o.EmailEnabled)
        {
            if (o.Smtp.Port is < 1 or > 65535)
            {
                errors.Add($"Alerts:Smtp:Port: {o.Smtp.Port} is outside 1-65535");
            }
            if (o.Smtp.Security is not null && o.Smtp.StartTls is not null)
            {
                errors.Add("Alerts:Smtp:Security and Alerts:Smtp:StartTls: give one (StartTls=false is Security=None, StartTls=true is Security=StartTls)");
            }
            if (o.Smtp.Security is { } security && !Enum.IsDefined(security))
            {
                errors.Add($"Alerts:Smtp:Security: '{security}' is not one of StartTls, StartTlsWhenAvailable, SslOnConnect, None");
            }
            if (!string.IsNullOrWhiteSpace(o.Smtp.TrustedCertificates))
            {
                o.Smtp.TrustedCertificates = Path.GetFullPath(o.Smtp.TrustedCertificates, contentRoot);
                try
                {
                    var pem = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
                    pem.ImportFromPemFile(o.Smtp.TrustedCertificates);
                    if (pem.Count == 0)
                    {
                        errors.Add($"Alerts:Smtp:TrustedCertificates: '{o.Smtp.TrustedCertificates}' holds no PEM certificate");
                    }
                    o.Smtp.TrustedThumbprints = pem.Select(c => c.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256))
                        .ToHashSet(StringComparer.OrdinalIgnoreCase);
                }
                catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
                {
                    errors.Add($"Alerts:Smtp:TrustedCertificates: '{o.Smtp.TrustedCertificates}': {ex.Message}");
                }
            }
            if (string.IsNullOrWhiteSpace(o.Email.From))
            {
                errors.Add("Alerts:Email:From: required when Alerts:Smtp:Host is set");
            }
            else if (!IsAddress(o.Email.From))
            {
                errors.Add($"Alerts:Email:From: '{o.Email.From}' is not an email address");
            }
            if (o.Recipients.Count == 0)
            {
                errors.Add("Alerts:Email:To: at least one address is required when Alerts:Smtp:Host is set");
            }
            foreach (var to in o.Recipients.Where(t => !IsAddress(t)))
            {
                errors.Add($"Alerts:Email:To: '{to}' is not an email address");
            }
            if (string.IsNullOrEmpty(o.Smtp.User) != string.IsNullOrEmpty(o.Smtp.Password))
            {
                errors.Add("Alerts:Smtp:User and Alerts:Smtp:Password: give both or neither");
            }
            if (o.Smtp.OAuth2.Enabled)
            {
                SmtpOAuth2Settings.Validate(o.Smtp, contentRoot, errors);
            }
        }
        else if (o.Recipients.Count > 0)
        {
            errors.Add("Alerts:Email:To: is set but Alerts:Smtp:Host is not; give the SMTP server or remove the recipients");
        }
        if (o.WebhookEnabled)
        {
            if (!Uri.TryCreate(o.Webhook.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                errors.Add($"Alerts:Webhook:Url: '{o.Webhook.Url}' is not an absolute http or https URL");
            }
        }
        if (!string.IsNullOrWhiteSpace(o.Webhook.Template))
        {
            o.Webhook.Template = Path.GetFullPath(o.Webhook.Template, contentRoot);
            if (!File.Exists(o.Webhook.Template))
            {
                errors.Add($"Alerts:Webhook:Template: file '{o.Webhook.Template}' does not exist");
            }
        }
        if (string.IsNullOrWhiteSpace(o.Outbox.Path))
        {
            // Beside the audit log by default: both are the service's durable record, and each instance has its own.
            var audit = Path.GetFullPath(configuration["Audit:Path"] is { Length: > 0 } a ? a : "logs", contentRoot);
            o.Outbox.Path = Path.Combine(audit, "alerts-outbox");
        }
        else
        {
            o.Outbox.Path = Path.GetFullPath(o.Outbox.Path, contentRoot);
        }
        // Polly's own limits: timeout 10 ms-24 h, break and sampling durations at least 500 ms, throughput at least 2.
        Within(o.Timeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(24), "Alerts:Timeout", errors);
        Within(o.Outbox.WriteTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1), "Alerts:Outbox:WriteTimeout", errors);
        Within(o.PollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1), "Alerts:PollInterval", errors);
        Within(o.FoldWindow, TimeSpan.Zero, TimeSpan.FromDays(1), "Alerts:FoldWindow", errors);
        Within(o.DigestInterval, TimeSpan.Zero, TimeSpan.FromDays(1), "Alerts:DigestInterval", errors);
        Within(o.Retry.BaseDelay, TimeSpan.Zero, TimeSpan.FromHours(1), "Alerts:Retry:BaseDelay", errors);
        Within(o.Retry.MaxDelay, TimeSpan.Zero, TimeSpan.FromHours(24), "Alerts:Retry:MaxDelay", errors);
        Within(o.Circuit.BreakDuration, TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1), "Alerts:Circuit:BreakDuration", errors);
        Within(o.Circuit.SamplingDuration, TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1), "Alerts:Circuit:SamplingDuration", errors);
        if (o.Retry.MaxAttempts is < 1 or > 100)
        {
            errors.Add($"Alerts:Retry:MaxAttempts: {o.Retry.MaxAttempts} is outside 1-100");
        }
        if (o.Circuit.MinimumThroughput < 2)
        {
            errors.Add($"Alerts:Circuit:MinimumThroughput: {o.Circuit.MinimumThroughput} must be at least 2");
        }
        if (o.Circuit.FailureRatio is <= 0 or > 1)
        {
            errors.Add($"Alerts:Circuit:FailureRatio: {o.Circuit.FailureRatio} is outside (0, 1]");
        }
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(o.TimeZone, out _))
        {
            errors.Add($"Alerts:TimeZone: unknown time zone '{o.TimeZone}'");
        }
        return errors.Count == before ? o : null;
    }

    /// <summary>One mailbox, parsed as MimeKit will when sending.</summary>
    private static bool IsAddress(string text) => MimeKit.MailboxAddress.TryParse(text, out var mailbox) && mailbox.Address.Contains('@');

    private static void Within(TimeSpan value, TimeSpan min, TimeSpan max, string key, List<string> errors)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key}: {value} is outside {min}-{max}");
        }
    }
}

/// <summary>How the SMTP connection is secured.</summary>
internal enum SmtpSecurity
{
    /// <summary>STARTTLS, required: a server that does not offer it is a failed delivery (submission, port 587).</summary>
    StartTls,
    /// <summary>STARTTLS if the server offers it, plain otherwise (an internal relay that may or may not have TLS).</summary>
    StartTlsWhenAvailable,
    /// <summary>Implicit TLS from the first byte (SMTPS, port 465).</summary>
    SslOnConnect,
    /// <summary>Plain SMTP (a relay on the same host or a trusted segment).</summary>
    None,
}

internal sealed class SmtpSettings
{
    /// <summary>The SMTP server; empty turns email off.</summary>
    public string? Host { get; set; }

    /// <summary>Default 587 (submission with STARTTLS), or 465 when <see cref="Security"/> is <see cref="SmtpSecurity.SslOnConnect"/>.</summary>
    public int? Port { get; set; }

    /// <summary>How the connection is secured. Default <see cref="SmtpSecurity.StartTls"/> (required), or <see cref="SmtpSecurity.SslOnConnect"/> when <see cref="Port"/> is 465.</summary>
    public SmtpSecurity? Security { get; set; }

    /// <summary>The older switch, kept for existing configurations: true = <see cref="SmtpSecurity.StartTls"/>, false = <see cref="SmtpSecurity.None"/>. Give it or <see cref="Security"/>, not both.</summary>
    public bool? StartTls { get; set; }

    /// <summary>
    /// A PEM file of certificates accepted from the SMTP server although no trusted root issued them (a school's own
    /// server with a self-signed certificate), matched exactly by SHA-256; the host name must still match.
    /// </summary>
    public string? TrustedCertificates { get; set; }

    /// <summary>Optional login; give both or neither.</summary>
    public string? User { get; set; }
    public string? Password { get; set; }

    /// <summary>Sign in with OAuth2 (XOAUTH2) instead of a password: Microsoft 365, Google Workspace or another provider.</summary>
    public SmtpOAuth2Settings OAuth2 { get; set; } = new();

    public SmtpSecurity EffectiveSecurity => Security ?? StartTls switch
    {
        false => SmtpSecurity.None,
        true => SmtpSecurity.StartTls,
        null => Port == 465 ? SmtpSecurity.SslOnConnect : SmtpSecurity.StartTls,
    };

    public int EffectivePort => Port ?? (EffectiveSecurity == SmtpSecurity.SslOnConnect ? 465 : 587);

    /// <summary>SHA-256 thumbprints of <see cref="TrustedCertificates"/>, read by <see cref="AlertOptions.Bind"/>.</summary>
    internal IReadOnlySet<string> TrustedThumbprints { get; set; } = new HashSet<string>();
}

internal sealed class EmailSettings
{
    public string? From { get; set; }

    /// <summary>One or more addresses, separated by commas or semicolons.</summary>
    public string? To { get; set; }

    public string SubjectPrefix { get; set; } = "[School web filter]";
}

internal sealed class WebhookSettings
{
    /// <summary>The URL alerts are POSTed to as JSON; empty turns the webhook off.</summary>
    public string? Url { get; set; }

    /// <summary>Optional body template file with <c>{{placeholders}}</c> (values are JSON-escaped), e.g. a Teams or Slack card.</summary>
    public string? Template { get; set; }
}

internal sealed class OutboxSettings
{
    /// <summary>The outbox directory. Default <c>alerts-outbox</c> inside <c>Audit:Path</c>.</summary>
    public string? Path { get; set; }

    /// <summary>
    /// How long a block response waits for its incident's fsync. Default 2 s: a healthy fsync takes milliseconds, and a
    /// pupil's block page must not hang on a stalled disk; after it the incident is held in memory until written.
    /// </summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(2);
}

internal sealed class RetrySettings
{
    /// <summary>Retries after the first attempt before the message waits for the next poll. Default 4.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>First retry delay; exponential with jitter after that. Default 2 s.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Longest retry delay. Default 1 min.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(1);
}

internal sealed class CircuitSettings
{
    /// <summary>Failure ratio within <see cref="SamplingDuration"/> that opens the circuit. Default 0.5 (Polly's default).</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Attempts within the sampling window before the ratio counts. Default 4.</summary>
    public int MinimumThroughput { get; set; } = 4;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an open circuit rejects attempts before one is tried again. Default 30 s.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}
