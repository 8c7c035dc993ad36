using System.Text.Json;

namespace FilterService.Notifications;

/// <summary>
/// Access tokens for SMTP XOAUTH2 (<c>Alerts:Smtp:OAuth2</c>): a form-encoded POST to the token endpoint, the
/// client-credentials grant when no refresh token is configured (Microsoft 365 app-only SMTP), the refresh-token grant
/// otherwise (both providers). The token is kept until 60 s before its <c>expires_in</c>; <see cref="Invalidate"/> drops
/// it when the SMTP server refused it. A failure throws <see cref="OAuth2TokenException"/> with the endpoint's status
/// and OAuth error code, never the secret, the refresh token or a token.
/// </summary>
internal sealed class OAuth2TokenSource(SmtpOAuth2Settings settings, TimeProvider time) : IDisposable
{
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(60);

    // Never through the environment's proxy settings: the filter must not depend on itself to raise alerts.
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private DateTimeOffset _expires;
    private string? _rotatedRefreshToken;

    public async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_token is not null && time.GetUtcNow() < _expires)
            {
                return _token;
            }
            _token = null;
            var (token, lifetime) = await FetchAsync(cancellationToken);
            _token = token;
            _expires = time.GetUtcNow() + (lifetime > Margin ? lifetime - Margin : TimeSpan.Zero);
            return token;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets <paramref name="token"/> if it is the cached one, so the next <see cref="GetAsync"/> fetches a new one.</summary>
    public void Invalidate(string token)
    {
        _gate.Wait();
        try
        {
            if (_token == token)
            {
                _token = null;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<(string Token, TimeSpan Lifetime)> FetchAsync(CancellationToken cancellationToken)
    {
        var endpoint = settings.EffectiveTokenEndpoint;
        var refresh = _rotatedRefreshToken ?? SmtpOAuth2Settings.Secret(settings.RefreshToken, settings.RefreshTokenFile);
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", refresh is null ? "client_credentials" : "refresh_token"),
            new("client_id", settings.ClientId!),
        };
        if (SmtpOAuth2Settings.Secret(settings.ClientSecret, settings.ClientSecretFile) is { } secret)
        {
            form.Add(new("client_secret", secret));
        }
        if (refresh is not null)
        {
            form.Add(new("refresh_token", refresh));
        }
        if (settings.EffectiveScope is { Length: > 0 } scope)
        {
            form.Add(new("scope", scope));
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.ParseAdd("application/json");
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new OAuth2TokenException($"OAuth2 token endpoint {endpoint} unreachable: {ex.Message}", ex);
        }
        using (response)
        {
            JsonElement body = default;
            try
            {
                body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or HttpRequestException)
            {
            }
            if (!response.IsSuccessStatusCode)
            {
                var error = Text(body, "error") ?? "no OAuth error code";
                var description = Text(body, "error_description") is { } d ? ": " + FirstLine(d) : "";
                throw new OAuth2TokenException($"OAuth2 token endpoint {endpoint} answered {(int)response.StatusCode} {error}{description}");
            }
            var token = Text(body, "access_token")
                ?? throw new OAuth2TokenException($"OAuth2 token endpoint {endpoint} answered {(int)response.StatusCode} without an access_token");
            var seconds = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("expires_in", out var e)
                && (e.ValueKind == JsonValueKind.Number ? e.TryGetInt64(out var n) : long.TryParse(e.GetString(), out n)) ? n : 3600;
            if (Text(body, "refresh_token") is { } rotated)
            {
                // Microsoft may hand out a new refresh token; the newest is the one to use (kept in memory only).
                _rotatedRefreshToken = rotated;
            }
            return (token, TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 86400 * 7)));
        }
    }

    private static string? Text(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] : line;
    }

    public void Dispose()
    {
        _http.Dispose();
        _gate.Dispose();
    }
}

/// <summary>The token endpoint refused or could not be reached; the message says which, without any secret.</summary>
internal sealed class OAuth2TokenException(string message, Exception? inner = null) : Exception(message, inner);
