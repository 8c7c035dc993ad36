using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FilterService.Notifications;

/// <summary>A way alerts reach people. Throws when the message did not go; the worker retries.</summary>
internal interface IAlertChannel
{
    /// <summary>Short, stable name: the outbox records deliveries under it, and metrics tag it.</summary>
    string Name { get; }

    Task SendAsync(AlertMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// Email through MailKit: one connection per message (alerts are rare; a pooled connection would only go stale),
/// secured as <see cref="SmtpSettings.EffectiveSecurity"/> says (STARTTLS required by default, implicit TLS on 465),
/// then the optional login. Every socket operation is bounded by <c>Alerts:Timeout</c> and the whole attempt by the
/// worker's cancellation token. The server certificate must pass the system's validation, or be one of the
/// certificates in <c>Alerts:Smtp:TrustedCertificates</c> (pinned by SHA-256, host name still checked): there is no
/// "accept any certificate". The Message-ID is derived from the incident id so a mail system (or a person) can drop a
/// redelivery after a crash. With <c>Alerts:Smtp:OAuth2</c> it signs in with XOAUTH2 and a token from
/// <see cref="OAuth2TokenSource"/> instead of a password.
/// </summary>
/// <remarks>
/// System.Net.Mail was replaced (issue 15): under the service's process-wide inline socket completions it waited for
/// its timeout after the server's 250 to DATA, so every alert was sent again and never marked delivered.
/// </remarks>
internal sealed class EmailChannel(AlertOptions options, TimeProvider time) : IAlertChannel, IDisposable
{
    private readonly OAuth2TokenSource? _oauth = options.Smtp.OAuth2.Enabled ? new OAuth2TokenSource(options.Smtp.OAuth2, time) : null;

    public string Name => "email";

    public Task SendAsync(AlertMessage message, CancellationToken cancellationToken) => DeliverAsync(CreateMessage(message, options), cancellationToken);

    /// <summary>Sends <paramref name="mail"/> as an alert is sent (same server, security and sign-in); the weekly report uses it too.</summary>
    internal async Task DeliverAsync(MimeKit.MimeMessage mail, CancellationToken cancellationToken)
    {
        using var client = CreateClient(options);
        await client.ConnectAsync(options.Smtp.Host!, options.Smtp.EffectivePort, SocketOptions(options.Smtp.EffectiveSecurity), cancellationToken);
        if (_oauth is not null)
        {
            await SignInWithOAuth2Async(client, _oauth, options.Smtp.OAuth2.User!, cancellationToken);
        }
        else if (!string.IsNullOrEmpty(options.Smtp.User))
        {
            await client.AuthenticateAsync(options.Smtp.User, options.Smtp.Password ?? "", cancellationToken);
        }
        await client.SendAsync(mail, cancellationToken);
        // The message is accepted once SendAsync returns; a QUIT that fails must not make the worker send it again.
        try
        {
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or MailKit.ProtocolException or MailKit.CommandException or OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// XOAUTH2 with the cached token; when the server refuses it (535: revoked, or expired early) the token is dropped
    /// and one fresh token is tried on the same connection. A second refusal is the attempt's failure.
    /// </summary>
    private static async Task SignInWithOAuth2Async(MailKit.Net.Smtp.SmtpClient client, OAuth2TokenSource tokens, string user, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(cancellationToken);
        try
        {
            await client.AuthenticateAsync(new MailKit.Security.SaslMechanismOAuth2(user, token), cancellationToken);
            return;
        }
        catch (MailKit.Security.AuthenticationException)
        {
            tokens.Invalidate(token);
        }
        token = await tokens.GetAsync(cancellationToken);
        try
        {
            await client.AuthenticateAsync(new MailKit.Security.SaslMechanismOAuth2(user, token), cancellationToken);
        }
        catch (MailKit.Security.AuthenticationException ex)
        {
            tokens.Invalidate(token);
            throw new MailKit.Security.AuthenticationException($"SMTP server refused the OAuth2 token for {user} (a fresh token too): {ex.Message}", ex);
        }
    }

    public void Dispose() => _oauth?.Dispose();

    internal static MailKit.Security.SecureSocketOptions SocketOptions(SmtpSecurity security) => security switch
    {
        SmtpSecurity.StartTls => MailKit.Security.SecureSocketOptions.StartTls,
        SmtpSecurity.StartTlsWhenAvailable => MailKit.Security.SecureSocketOptions.StartTlsWhenAvailable,
        SmtpSecurity.SslOnConnect => MailKit.Security.SecureSocketOptions.SslOnConnect,
        _ => MailKit.Security.SecureSocketOptions.None,
    };

    internal static MailKit.Net.Smtp.SmtpClient CreateClient(AlertOptions options)
    {
        var trusted = options.Smtp.TrustedThumbprints;
        return new MailKit.Net.Smtp.SmtpClient
        {
            Timeout = (int)Math.Min(int.MaxValue, options.Timeout.TotalMilliseconds),
            // As System.Net.Mail did: a CRL or OCSP server the filter cannot reach must not stop safeguarding alerts.
            CheckCertificateRevocation = false,
            ServerCertificateValidationCallback = (_, certificate, _, errors) => IsTrusted(certificate, errors, trusted),
        };
    }

    /// <summary>
    /// The system's verdict, except that a certificate pinned in <c>Alerts:Smtp:TrustedCertificates</c> needs no chain
    /// to a trusted root (a school's own mail server with a self-signed certificate). The name must match either way.
    /// </summary>
    internal static bool IsTrusted(X509Certificate? certificate, SslPolicyErrors errors, IReadOnlySet<string> trusted) =>
        errors == SslPolicyErrors.None
        || (errors == SslPolicyErrors.RemoteCertificateChainErrors && certificate is not null
            && trusted.Contains(certificate.GetCertHashString(HashAlgorithmName.SHA256)));

    internal static MimeKit.MimeMessage CreateMessage(AlertMessage message, AlertOptions options)
    {
        var mail = new MimeKit.MimeMessage
        {
            Subject = message.Subject,
            MessageId = $"{message.Id}@alerts.filterservice",
        };
        mail.From.Add(MimeKit.MailboxAddress.Parse(options.Email.From!));
        foreach (var to in options.Recipients)
        {
            mail.To.Add(MimeKit.MailboxAddress.Parse(to));
        }
        mail.Headers.Add("X-FilterService-Alert", message.Id);
        if (message.Severity == PolicyModel.Decisions.AlertSeverity.High)
        {
            // What System.Net.Mail's MailPriority.High wrote, so mail rules written for it still match.
            mail.Priority = MimeKit.MessagePriority.Urgent;
            mail.XPriority = MimeKit.XMessagePriority.Highest;
            mail.Importance = MimeKit.MessageImportance.High;
        }
        var body = new MimeKit.TextPart(MimeKit.Text.TextFormat.Plain);
        body.SetText(Encoding.UTF8, message.Text);
        // 8bit keeps the text readable in the raw message; MailKit falls back to quoted-printable if the server lacks 8BITMIME.
        body.ContentTransferEncoding = MimeKit.ContentEncoding.EightBit;
        mail.Body = body;
        return mail;
    }
}

/// <summary>
/// POSTs JSON to <c>Alerts:Webhook:Url</c>: our own shape by default, or <c>Alerts:Webhook:Template</c> with
/// <c>{{name}}</c> placeholders replaced by JSON-escaped values (so a Teams or Slack card can be built). Any status
/// but 2xx is a failure. The <c>Idempotency-Key</c> header carries the alert id for receivers that dedupe.
/// </summary>
internal sealed partial class WebhookChannel : IAlertChannel, IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly string? _template;

    public WebhookChannel(AlertOptions options)
    {
        _url = new Uri(options.Webhook.Url!);
        _template = string.IsNullOrWhiteSpace(options.Webhook.Template) ? null : File.ReadAllText(options.Webhook.Template);
        // Never through the proxy settings of the environment: the filter must not depend on itself to raise alerts.
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public string Name => "webhook";

    public async Task SendAsync(AlertMessage message, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url)
        {
            Content = new StringContent(Body(message, _template), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", message.Id);
        using var response = await _http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"webhook answered {(int)response.StatusCode}", null, response.StatusCode);
        }
    }

    public static string Body(AlertMessage message, string? template)
    {
        var fields = Fields(message);
        if (template is null)
        {
            var first = message.Incidents[0];
            return JsonSerializer.Serialize(new
            {
                id = message.Id,
                kind = message.IsDigest ? "digest" : first.Kind.ToString().ToLowerInvariant(),
                severity = message.Severity.ToString().ToLowerInvariant(),
                subject = message.Subject,
                text = message.Text,
                incidents = message.Incidents.Select(i => new
                {
                    id = i.Id,
                    kind = i.Kind.ToString().ToLowerInvariant(),
                    severity = i.Severity.ToString().ToLowerInvariant(),
                    time = i.At,
                    user = i.User,
                    displayName = i.DisplayName,
                    roles = i.Roles,
                    client = i.Client,
                    network = i.Network,
                    method = i.Method,
                    target = i.Target,
                    host = i.Host,
                    category = i.Category,
                    rule = i.Rule,
                    reference = i.Reference,
                    count = i.Count,
                    lastAt = i.LastAt,
                    url = message.Pages.GetValueOrDefault(i.Id),
                }),
                url = message.Pages.GetValueOrDefault(first.Id),
            }, Json);
        }
        return Placeholder().Replace(template, m =>
            fields.TryGetValue(m.Groups[1].Value, out var v) ? JsonEncodedText.Encode(v, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString() : m.Value);
    }

    /// <summary>The placeholder names a template may use; for a digest, the per-incident ones are the first incident's.</summary>
    public static Dictionary<string, string> Fields(AlertMessage message)
    {
        var i = message.Incidents[0];
        return new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["id"] = message.Id,
            ["subject"] = message.Subject,
            ["text"] = message.Text,
            ["severity"] = message.Severity.ToString(),
            ["count"] = message.IsDigest ? message.Incidents.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) : i.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["time"] = i.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["user"] = i.User ?? "",
            ["displayName"] = i.DisplayName ?? "",
            ["roles"] = string.Join(", ", i.Roles),
            ["client"] = i.Client,
            ["network"] = i.Network ?? "",
            ["method"] = i.Method,
            ["target"] = i.Target,
            ["host"] = i.Host,
            ["category"] = i.Category ?? "",
            ["rule"] = i.Rule,
            ["reference"] = i.Reference ?? "",
            ["url"] = message.Pages.GetValueOrDefault(i.Id) ?? "",
        };
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex(@"\{\{\s*([A-Za-z]+)\s*\}\}")]
    private static partial Regex Placeholder();
}
