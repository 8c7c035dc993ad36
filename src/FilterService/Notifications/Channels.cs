using System.Net;
using System.Net.Mail;
using System.Net.Mime;
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
/// Email through System.Net.Mail. <c>EnableSsl</c> means STARTTLS on the submission port; the Message-ID is
/// derived from the incident id so a mail system (or a person) can drop a redelivery after a crash.
/// </summary>
internal sealed class EmailChannel(AlertOptions options) : IAlertChannel
{
    public string Name => "email";

    public async Task SendAsync(AlertMessage message, CancellationToken cancellationToken)
    {
        using var client = CreateClient(options);
        using var mail = CreateMessage(message, options);
        await client.SendMailAsync(mail, cancellationToken);
    }

    internal static SmtpClient CreateClient(AlertOptions options) => new(options.Smtp.Host, options.Smtp.Port)
    {
        DeliveryMethod = SmtpDeliveryMethod.Network,
        EnableSsl = options.Smtp.StartTls,
        Timeout = (int)Math.Min(int.MaxValue, options.Timeout.TotalMilliseconds),
        UseDefaultCredentials = false,
        Credentials = string.IsNullOrEmpty(options.Smtp.User) ? null : new NetworkCredential(options.Smtp.User, options.Smtp.Password),
    };

    internal static MailMessage CreateMessage(AlertMessage message, AlertOptions options)
    {
        var mail = new MailMessage
        {
            From = new MailAddress(options.Email.From!),
            Subject = message.Subject,
            SubjectEncoding = Encoding.UTF8,
            Body = message.Text,
            BodyEncoding = Encoding.UTF8,
            // 8bit keeps the text readable in the raw message (every server we target speaks 8BITMIME); lines are short.
            BodyTransferEncoding = TransferEncoding.EightBit,
            IsBodyHtml = false,
        };
        foreach (var to in options.Recipients)
        {
            mail.To.Add(to);
        }
        mail.Headers.Add("Message-ID", $"<{message.Id}@alerts.filterservice>");
        mail.Headers.Add("X-FilterService-Alert", message.Id);
        if (message.Severity == PolicyModel.Decisions.AlertSeverity.High)
        {
            mail.Priority = MailPriority.High;
        }
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
                }),
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
        };
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex(@"\{\{\s*([A-Za-z]+)\s*\}\}")]
    private static partial Regex Placeholder();
}
