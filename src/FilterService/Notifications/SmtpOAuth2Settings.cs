namespace FilterService.Notifications;

/// <summary>Who issues the SMTP access token; it decides the default token endpoint and scope.</summary>
internal enum OAuth2Provider
{
    /// <summary>Microsoft 365 (Entra ID): client credentials (app-only, SMTP.SendAsApp) or a delegated refresh token.</summary>
    Microsoft,
    /// <summary>Google Workspace: a refresh token (Google has no client-credentials grant for Gmail SMTP).</summary>
    Google,
    /// <summary>Any other OAuth2 server: <see cref="SmtpOAuth2Settings.TokenEndpoint"/> is required.</summary>
    Custom,
}

/// <summary>
/// <c>Alerts:Smtp:OAuth2</c>: SMTP sign-in with an OAuth2 access token (SASL XOAUTH2) for providers that are retiring
/// basic SMTP login. On when <see cref="Provider"/> is set. The client-credentials grant is used when no refresh token is
/// given, the refresh-token grant otherwise. Secrets may come from files (read at each token fetch, so a rotated secret
/// is picked up without a restart).
/// </summary>
internal sealed class SmtpOAuth2Settings
{
    public OAuth2Provider? Provider { get; set; }

    /// <summary>Default: Microsoft <c>https://login.microsoftonline.com/{TenantId}/oauth2/v2.0/token</c>, Google <c>https://oauth2.googleapis.com/token</c>.</summary>
    public string? TokenEndpoint { get; set; }

    /// <summary>Microsoft: the directory (tenant) id or domain; required unless <see cref="TokenEndpoint"/> is given.</summary>
    public string? TenantId { get; set; }

    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
    public string? ClientSecretFile { get; set; }
    public string? RefreshToken { get; set; }
    public string? RefreshTokenFile { get; set; }

    /// <summary>
    /// Default: Microsoft <c>https://outlook.office365.com/.default</c> (client credentials) or
    /// <c>https://outlook.office365.com/SMTP.Send offline_access</c> (refresh token); Google <c>https://mail.google.com/</c>
    /// for client credentials and none on refresh (a Google refresh keeps the scopes it was granted).
    /// </summary>
    public string? Scope { get; set; }

    /// <summary>The mailbox the token signs in as (XOAUTH2's <c>user=</c>).</summary>
    public string? User { get; set; }

    public bool Enabled => Provider is not null;

    public bool UsesRefreshToken => !string.IsNullOrEmpty(RefreshToken) || !string.IsNullOrEmpty(RefreshTokenFile);

    public string EffectiveTokenEndpoint => !string.IsNullOrWhiteSpace(TokenEndpoint) ? TokenEndpoint : Provider switch
    {
        OAuth2Provider.Microsoft => $"https://login.microsoftonline.com/{Uri.EscapeDataString(TenantId ?? "")}/oauth2/v2.0/token",
        OAuth2Provider.Google => "https://oauth2.googleapis.com/token",
        _ => "",
    };

    public string? EffectiveScope => !string.IsNullOrWhiteSpace(Scope) ? Scope : Provider switch
    {
        OAuth2Provider.Microsoft => UsesRefreshToken ? "https://outlook.office365.com/SMTP.Send offline_access" : "https://outlook.office365.com/.default",
        OAuth2Provider.Google => UsesRefreshToken ? null : "https://mail.google.com/",
        _ => null,
    };

    /// <summary>The value, or the trimmed content of the file; null when neither is given.</summary>
    public static string? Secret(string? value, string? file) =>
        !string.IsNullOrEmpty(value) ? value : !string.IsNullOrWhiteSpace(file) ? File.ReadAllText(file).Trim() : null;

    /// <summary>Checks <c>Alerts:Smtp:OAuth2</c> (called when a provider is set) and makes file paths absolute.</summary>
    public static void Validate(SmtpSettings smtp, string contentRoot, List<string> errors)
    {
        const string K = "Alerts:Smtp:OAuth2";
        var o = smtp.OAuth2;
        if (o.Provider is { } provider && !Enum.IsDefined(provider))
        {
            errors.Add($"{K}:Provider: '{provider}' is not one of Microsoft, Google, Custom");
            return;
        }
        if (!string.IsNullOrEmpty(smtp.User) || !string.IsNullOrEmpty(smtp.Password))
        {
            errors.Add($"{K} and Alerts:Smtp:User/Password: give one way to sign in (OAuth2 signs in as {K}:User)");
        }
        if (string.IsNullOrWhiteSpace(o.ClientId))
        {
            errors.Add($"{K}:ClientId: required when {K}:Provider is set");
        }
        if (string.IsNullOrWhiteSpace(o.User))
        {
            errors.Add($"{K}:User: required (the mailbox the alerts are sent from)");
        }
        else if (!MimeKit.MailboxAddress.TryParse(o.User, out var mailbox) || !mailbox.Address.Contains('@'))
        {
            errors.Add($"{K}:User: '{o.User}' is not an email address");
        }
        o.ClientSecretFile = OneOf(o.ClientSecret, o.ClientSecretFile, $"{K}:ClientSecret", contentRoot, errors);
        o.RefreshTokenFile = OneOf(o.RefreshToken, o.RefreshTokenFile, $"{K}:RefreshToken", contentRoot, errors);
        bool hasSecret = !string.IsNullOrEmpty(o.ClientSecret) || !string.IsNullOrEmpty(o.ClientSecretFile);
        if (!o.UsesRefreshToken && !hasSecret)
        {
            errors.Add($"{K}:ClientSecret (or ClientSecretFile): required for the client-credentials grant (no {K}:RefreshToken given)");
        }
        if (o.Provider == OAuth2Provider.Google)
        {
            if (!o.UsesRefreshToken)
            {
                errors.Add($"{K}:RefreshToken (or RefreshTokenFile): required for Google (Gmail SMTP has no client-credentials grant)");
            }
            else if (!hasSecret)
            {
                errors.Add($"{K}:ClientSecret (or ClientSecretFile): required for Google");
            }
        }
        if (string.IsNullOrWhiteSpace(o.TokenEndpoint))
        {
            if (o.Provider == OAuth2Provider.Custom)
            {
                errors.Add($"{K}:TokenEndpoint: required when {K}:Provider is Custom");
            }
            else if (o.Provider == OAuth2Provider.Microsoft && string.IsNullOrWhiteSpace(o.TenantId))
            {
                errors.Add($"{K}:TenantId: required for Microsoft (the directory id or domain in the token endpoint), or give {K}:TokenEndpoint");
            }
        }
        else if (!Uri.TryCreate(o.TokenEndpoint, UriKind.Absolute, out var url)
            || !(url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && url.IsLoopback)))
        {
            errors.Add($"{K}:TokenEndpoint: '{o.TokenEndpoint}' is not an absolute https URL (plain http only on loopback)");
        }
        if (smtp.EffectiveSecurity is SmtpSecurity.None or SmtpSecurity.StartTlsWhenAvailable)
        {
            errors.Add($"{K}: needs TLS to the SMTP server (Alerts:Smtp:Security StartTls or SslOnConnect): a bearer token must not cross the network in clear");
        }
    }

    /// <summary>At most one of a value and a file; returns the file's absolute path, checking it can be read and is not empty.</summary>
    private static string? OneOf(string? value, string? file, string key, string contentRoot, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(file))
        {
            return file;
        }
        if (!string.IsNullOrEmpty(value))
        {
            errors.Add($"{key} and {key}File: give one");
        }
        var path = Path.GetFullPath(file, contentRoot);
        try
        {
            if (File.ReadAllText(path).Trim().Length == 0)
            {
                errors.Add($"{key}File: '{path}' is empty");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            errors.Add($"{key}File: '{path}': {ex.Message}");
        }
        return path;
    }
}
