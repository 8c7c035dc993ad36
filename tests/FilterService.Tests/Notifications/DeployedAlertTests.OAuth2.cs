using System.Net;
using FilterService.Notifications;
using FilterService.Tests.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FilterService.Tests.Notifications;

/// <summary>
/// Issue 20: SMTP sign-in with OAuth2 (XOAUTH2), as Microsoft 365 and Google Workspace require once basic login is
/// gone. A real token endpoint (Kestrel on 127.0.0.1) checks the grant and issues tokens; aiosmtpd over STARTTLS accepts
/// only XOAUTH2 with the expected token; the service runs as its own process.
/// </summary>
public sealed partial class DeployedAlertTests
{
    private const string Mailbox = "alerts@school.test";

    [Fact]
    public async Task Issue20_SmtpOAuth2_MicrosoftClientCredentials_FirstTokenRefused_FreshTokenTriedOnce_Delivered()
    {
        var (cert, key) = SelfSigned();
        await using var tokens = await TokenEndpoint.StartAsync(clientId: "filter-app", secret: "app-s3cret-value", refreshToken: null);
        // The server accepts only the second token issued: the first is "revoked", so the 535 must drop it and fetch one more.
        await using var smtp = await SmtpSink.StartAsync(tls: new SmtpTls(cert, key, Implicit: false), xoauth2: (Mailbox, tokens.Token(2)));
        var secretFile = Path.Combine(TempDir.Create("oauth"), "client-secret");
        File.WriteAllText(secretFile, "app-s3cret-value\n");
        var outbox = TempDir.Create("outbox");
        await using (var service = await StartAsync(outbox, Email(smtp.Port, $"--Alerts:Smtp:TrustedCertificates={cert}",
            "--Alerts:Smtp:OAuth2:Provider=Microsoft", $"--Alerts:Smtp:OAuth2:TokenEndpoint={tokens.Url}",
            "--Alerts:Smtp:OAuth2:ClientId=filter-app", $"--Alerts:Smtp:OAuth2:ClientSecretFile={secretFile}", $"--Alerts:Smtp:OAuth2:User={Mailbox}")))
        {
            await PupilTriesTerrorAsync(service);
            await WaitForDeliveredAsync(service, "email");
            Assert.DoesNotContain("app-s3cret-value", service.Output);
            Assert.DoesNotContain(tokens.Token(1), service.Output);
            Assert.DoesNotContain(tokens.Token(2), service.Output);
        }

        Assert.Contains("tried blocked-terror.test (terrorism)", Unfold(Assert.Single(smtp.Messages())));
        var requests = tokens.Requests;
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r =>
        {
            Assert.Equal("client_credentials", r["grant_type"]);
            Assert.Equal("https://outlook.office365.com/.default", r["scope"]);
            Assert.False(r.ContainsKey("refresh_token"));
        });
    }

    [Fact]
    public async Task Issue20_SmtpOAuth2_GoogleRefreshToken_DeliveredWithOneToken()
    {
        var (cert, key) = SelfSigned();
        await using var tokens = await TokenEndpoint.StartAsync(clientId: "client.apps.test", secret: "google-s3cret", refreshToken: "1//refresh-token-value");
        await using var smtp = await SmtpSink.StartAsync(tls: new SmtpTls(cert, key, Implicit: false), xoauth2: (Mailbox, tokens.Token(1)));
        await using (var service = await StartAsync(TempDir.Create("outbox"), Email(smtp.Port, $"--Alerts:Smtp:TrustedCertificates={cert}",
            "--Alerts:Smtp:OAuth2:Provider=Google", $"--Alerts:Smtp:OAuth2:TokenEndpoint={tokens.Url}", "--Alerts:Smtp:OAuth2:ClientId=client.apps.test",
            "--Alerts:Smtp:OAuth2:ClientSecret=google-s3cret", "--Alerts:Smtp:OAuth2:RefreshToken=1//refresh-token-value", $"--Alerts:Smtp:OAuth2:User={Mailbox}")))
        {
            await PupilTriesTerrorAsync(service);
            await WaitForDeliveredAsync(service, "email");
            Assert.DoesNotContain("refresh-token-value", service.Output);
        }

        Assert.Contains("tried blocked-terror.test (terrorism)", Unfold(Assert.Single(smtp.Messages())));
        var request = Assert.Single(tokens.Requests);
        Assert.Equal("refresh_token", request["grant_type"]);
        Assert.False(request.ContainsKey("scope"));
    }

    [Fact]
    public async Task Issue20_SmtpOAuth2_WrongClientSecret_401IsAClearDeliveryError_AlertStaysQueued()
    {
        var (cert, key) = SelfSigned();
        await using var tokens = await TokenEndpoint.StartAsync(clientId: "filter-app", secret: "the-right-secret", refreshToken: null);
        await using var smtp = await SmtpSink.StartAsync(tls: new SmtpTls(cert, key, Implicit: false), xoauth2: (Mailbox, tokens.Token(1)));
        await using var service = await StartAsync(TempDir.Create("outbox"), Email(smtp.Port, $"--Alerts:Smtp:TrustedCertificates={cert}",
            "--Alerts:Smtp:OAuth2:Provider=Microsoft", $"--Alerts:Smtp:OAuth2:TokenEndpoint={tokens.Url}",
            "--Alerts:Smtp:OAuth2:ClientId=filter-app", "--Alerts:Smtp:OAuth2:ClientSecret=a-wrong-secret", $"--Alerts:Smtp:OAuth2:User={Mailbox}"));

        await PupilTriesTerrorAsync(service);

        await WaitForFailedAsync(service);
        Assert.Empty(smtp.Messages());
        // The failure is counted just before it is logged: wait for the line rather than read the output at once.
        Assert.True(await service.WaitForOutputAsync($"OAuth2 token endpoint {tokens.Url} answered 401 invalid_client: AADSTS7000215: Invalid client secret provided.", TimeSpan.FromSeconds(10)), service.Output);
        Assert.Contains("kept in the outbox", service.Output);
        Assert.DoesNotContain("a-wrong-secret", service.Output);
        Assert.True(tokens.Requests.Count >= 1);
    }

    [Fact]
    public async Task Issue20_SmtpOAuth2_TokenCachedUntilAMinuteBeforeExpiry_UnreachableEndpointIsAClearError()
    {
        await using var tokens = await TokenEndpoint.StartAsync(clientId: "filter-app", secret: "s", refreshToken: null, expiresIn: 3600);
        var time = new FakeTime(DateTimeOffset.Parse("2026-12-05T08:00:00Z"));
        var settings = new SmtpOAuth2Settings { Provider = OAuth2Provider.Custom, TokenEndpoint = tokens.Url.ToString(), ClientId = "filter-app", ClientSecret = "s", User = Mailbox };
        using var source = new OAuth2TokenSource(settings, time);

        Assert.Equal(tokens.Token(1), await source.GetAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(3600 - 61));
        Assert.Equal(tokens.Token(1), await source.GetAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(tokens.Token(2), await source.GetAsync(CancellationToken.None));
        source.Invalidate(tokens.Token(2));
        Assert.Equal(tokens.Token(3), await source.GetAsync(CancellationToken.None));
        Assert.Equal(3, tokens.Requests.Count);

        var closed = new SmtpOAuth2Settings { Provider = OAuth2Provider.Custom, TokenEndpoint = $"http://127.0.0.1:{SmtpSink.FreePort()}/token", ClientId = "c", ClientSecret = "s", User = Mailbox };
        using var unreachable = new OAuth2TokenSource(closed, time);
        var error = await Assert.ThrowsAsync<OAuth2TokenException>(() => unreachable.GetAsync(CancellationToken.None));
        Assert.StartsWith($"OAuth2 token endpoint {closed.TokenEndpoint} unreachable: ", error.Message);
    }

    /// <summary>
    /// A token endpoint as Entra ID and Google answer it: a form POST; a wrong client id or secret is 401 invalid_client,
    /// a wrong refresh token 400 invalid_grant; otherwise a JSON token response. Tokens are numbered in issue order.
    /// </summary>
    private sealed class TokenEndpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly List<Dictionary<string, string>> _requests = [];
        private readonly string _prefix = "tok-" + Guid.NewGuid().ToString("N")[..12] + "-";
        private readonly string _clientId;
        private readonly string _secret;
        private readonly string? _refreshToken;
        private readonly int _expiresIn;
        private int _issued;

        private TokenEndpoint(WebApplication app, string clientId, string secret, string? refreshToken, int expiresIn)
        {
            _app = app;
            _clientId = clientId;
            _secret = secret;
            _refreshToken = refreshToken;
            _expiresIn = expiresIn;
        }

        public Uri Url { get; private set; } = null!;

        public string Token(int n) => _prefix + n;

        public List<Dictionary<string, string>> Requests
        {
            get
            {
                lock (_requests)
                {
                    return _requests.ToList();
                }
            }
        }

        public static async Task<TokenEndpoint> StartAsync(string clientId, string secret, string? refreshToken, int expiresIn = 3599)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var endpoint = new TokenEndpoint(app, clientId, secret, refreshToken, expiresIn);
            app.Run(endpoint.HandleAsync);
            await app.StartAsync();
            endpoint.Url = new Uri(app.Urls.First() + "/tenant/oauth2/v2.0/token");
            return endpoint;
        }

        private async Task HandleAsync(HttpContext context)
        {
            if (!HttpMethods.IsPost(context.Request.Method) || !context.Request.HasFormContentType)
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsJsonAsync(new { error = "invalid_request" });
                return;
            }
            var form = (await context.Request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString());
            string grant = _refreshToken is null ? "client_credentials" : "refresh_token";
            int n;
            lock (_requests)
            {
                _requests.Add(form);
                n = _issued + 1;
            }
            if (form.GetValueOrDefault("grant_type") != grant)
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsJsonAsync(new { error = "unsupported_grant_type" });
            }
            else if (form.GetValueOrDefault("client_id") != _clientId || form.GetValueOrDefault("client_secret") != _secret)
            {
                context.Response.StatusCode = 401;
                await context.Response.WriteAsJsonAsync(new { error = "invalid_client", error_description = "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0000" });
            }
            else if (_refreshToken is not null && form.GetValueOrDefault("refresh_token") != _refreshToken)
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsJsonAsync(new { error = "invalid_grant" });
            }
            else
            {
                lock (_requests)
                {
                    n = ++_issued;
                }
                await context.Response.WriteAsJsonAsync(new { token_type = "Bearer", expires_in = _expiresIn, access_token = Token(n) });
            }
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
