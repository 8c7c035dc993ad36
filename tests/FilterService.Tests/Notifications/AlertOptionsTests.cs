using System.Net;
using FilterService.Notifications;
using Microsoft.Extensions.Configuration;

namespace FilterService.Tests.Notifications;

public sealed class AlertOptionsTests
{
    private static (AlertOptions? Options, List<string> Errors) Bind(params (string Key, string Value)[] settings)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        var errors = new List<string>();
        return (AlertOptions.Bind(config, "/srv/filter", errors), errors);
    }

    [Fact]
    public void Bind_Nothing_AlertsOffOutboxBesideTheAuditLog()
    {
        var (o, errors) = Bind();
        Assert.Empty(errors);
        Assert.False(o!.AnyChannel);
        Assert.Equal("/srv/filter/logs/alerts-outbox", o.Outbox.Path);
        Assert.Equal(TimeSpan.FromMinutes(10), o.FoldWindow);
    }

    [Fact]
    public void Bind_EveryProblem_ReportedAtOnceWithItsKey()
    {
        var (o, errors) = Bind(("Alerts:Smtp:Host", "mail.school.test"), ("Alerts:Smtp:Port", "0"), ("Alerts:Email:To", "ict@school.test, not-an-address"),
            ("Alerts:Smtp:User", "filter"), ("Alerts:Webhook:Url", "ftp://hooks.test/x"), ("Alerts:Retry:BaseDelay", "-00:00:01"),
            ("Alerts:Circuit:MinimumThroughput", "1"), ("Alerts:Retry:MaxAttempts", "0"));
        Assert.Null(o);
        Assert.Equal(
        [
            "Alerts:Smtp:Port: 0 is outside 1-65535",
            "Alerts:Email:From: required when Alerts:Smtp:Host is set",
            "Alerts:Email:To: 'not-an-address' is not an email address",
            "Alerts:Smtp:User and Alerts:Smtp:Password: give both or neither",
            "Alerts:Webhook:Url: 'ftp://hooks.test/x' is not an absolute http or https URL",
            "Alerts:Retry:BaseDelay: -00:00:01 is outside 00:00:00-01:00:00",
            "Alerts:Retry:MaxAttempts: 0 is outside 1-100",
            "Alerts:Circuit:MinimumThroughput: 1 must be at least 2",
        ], errors);
    }

    [Fact]
    public void Bind_RecipientsWithoutServer_IsAnError()
    {
        var (_, errors) = Bind(("Alerts:Email:To", "ict@school.test"));
        Assert.Equal(["Alerts:Email:To: is set but Alerts:Smtp:Host is not; give the SMTP server or remove the recipients"], errors);
    }

    [Fact]
    public void Bind_UnknownKey_IsAnError()
    {
        var (_, errors) = Bind(("Alerts:Smtp:Hots", "x"));
        Assert.Single(errors, e => e.StartsWith("Alerts: ") && e.Contains("Hots"));
    }

    [Theory]
    [InlineData(null, null, null, "StartTls", 587)]
    [InlineData("465", null, null, "SslOnConnect", 465)]
    [InlineData(null, "SslOnConnect", null, "SslOnConnect", 465)]
    [InlineData("2525", "StartTlsWhenAvailable", null, "StartTlsWhenAvailable", 2525)]
    [InlineData(null, "None", null, "None", 587)]
    [InlineData("2525", null, "false", "None", 2525)]
    [InlineData(null, null, "true", "StartTls", 587)]
    public void Item15_SmtpSecurityAndPort_FollowSecurityThenStartTlsThenPort(string? port, string? security, string? startTls, string expected, int expectedPort)
    {
        var (o, errors) = Bind([("Alerts:Smtp:Host", "mail.school.test"), ("Alerts:Email:From", "filter@school.test"), ("Alerts:Email:To", "dsl@school.test"),
            .. new[] { ("Alerts:Smtp:Port", port), ("Alerts:Smtp:Security", security), ("Alerts:Smtp:StartTls", startTls) }
                .Where(kv => kv.Item2 is not null).Select(kv => (kv.Item1, kv.Item2!))]);
        Assert.Empty(errors);
        Assert.Equal(expected, o!.Smtp.EffectiveSecurity.ToString());
        Assert.Equal(expectedPort, o.Smtp.EffectivePort);
    }

    [Fact]
    public void Item15_SecurityAndStartTlsBoth_AndAnUnreadableTrustFile_AreErrors()
    {
        var (_, errors) = Bind(("Alerts:Smtp:Host", "mail.school.test"), ("Alerts:Email:From", "filter@school.test"), ("Alerts:Email:To", "dsl@school.test"),
            ("Alerts:Smtp:Security", "None"), ("Alerts:Smtp:StartTls", "false"), ("Alerts:Smtp:TrustedCertificates", "/nonexistent/smtp.pem"));
        Assert.Equal(2, errors.Count);
        Assert.Equal("Alerts:Smtp:Security and Alerts:Smtp:StartTls: give one (StartTls=false is Security=None, StartTls=true is Security=StartTls)", errors[0]);
        Assert.StartsWith("Alerts:Smtp:TrustedCertificates: '/nonexistent/smtp.pem': ", errors[1]);
    }

    [Fact]
    public void Item15_CertificateCheck_PinnedCertificateSkipsOnlyTheChain_NeverTheName()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        using var cert = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=mail.school.test", key,
            System.Security.Cryptography.HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pinned = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { cert.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256) };
        var none = new HashSet<string>();
        Assert.True(EmailChannel.IsTrusted(cert, System.Net.Security.SslPolicyErrors.None, none));
        Assert.False(EmailChannel.IsTrusted(cert, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors, none));
        Assert.True(EmailChannel.IsTrusted(cert, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors, pinned));
        Assert.False(EmailChannel.IsTrusted(cert, System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch, pinned));
        Assert.False(EmailChannel.IsTrusted(cert, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors | System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch, pinned));
        Assert.False(EmailChannel.IsTrusted(null, System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable, pinned));
    }

    [Fact]
    public void Item15_EmailMessage_CarriesIdAndPriority()
    {
        var (o, errors) = Bind(("Alerts:Smtp:Host", "mail.school.test"), ("Alerts:Email:From", "filter@school.test"), ("Alerts:Email:To", "ict@school.test;dsl@school.test"));
        Assert.Empty(errors);
        var incident = new Incident
        {
            Id = "0123456789abcdef0123456789abcdef", Kind = IncidentKind.Alert, At = DateTimeOffset.UnixEpoch, Client = "10.0.0.5", Method = "GET",
            Target = "http://blocked-terror.test/", Host = "blocked-terror.test", Category = "terrorism", Rule = "statutory:terrorism",
            Severity = PolicyModel.Decisions.AlertSeverity.High,
        };
        var mail = EmailChannel.CreateMessage(AlertMessage.For(incident, o!, TimeZoneInfo.Utc), o!);
        Assert.Equal("0123456789abcdef0123456789abcdef@alerts.filterservice", mail.MessageId);
        Assert.Equal(["ict@school.test", "dsl@school.test"], mail.To.Mailboxes.Select(m => m.Address));
        Assert.Equal(MimeKit.MessagePriority.Urgent, mail.Priority);
        Assert.Equal("0123456789abcdef0123456789abcdef", mail.Headers["X-FilterService-Alert"]);
    }

    private static readonly (string, string)[] Mail = [("Alerts:Smtp:Host", "smtp.office365.com"), ("Alerts:Email:From", "alerts@school.test"), ("Alerts:Email:To", "dsl@school.test")];

    [Fact]
    public void Issue20_SmtpOAuth2_Microsoft_DefaultsToClientCredentialsAgainstTheTenantsEndpoint()
    {
        var (o, errors) = Bind([.. Mail, ("Alerts:Smtp:OAuth2:Provider", "Microsoft"), ("Alerts:Smtp:OAuth2:TenantId", "contoso.onmicrosoft.com"),
            ("Alerts:Smtp:OAuth2:ClientId", "app"), ("Alerts:Smtp:OAuth2:ClientSecret", "s"), ("Alerts:Smtp:OAuth2:User", "alerts@school.test")]);
        Assert.Empty(errors);
        Assert.Equal("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", o!.Smtp.OAuth2.EffectiveTokenEndpoint);
        Assert.Equal("https://outlook.office365.com/.default", o.Smtp.OAuth2.EffectiveScope);
        Assert.False(o.Smtp.OAuth2.UsesRefreshToken);
    }

    [Fact]
    public void Issue20_SmtpOAuth2_Google_RefreshTokenFromAFile()
    {
        var dir = Path.Combine(Path.GetTempPath(), "oauth-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "refresh"), "1//token\n");
        var (o, errors) = Bind([.. Mail, ("Alerts:Smtp:OAuth2:Provider", "Google"), ("Alerts:Smtp:OAuth2:ClientId", "app"),
            ("Alerts:Smtp:OAuth2:ClientSecret", "s"), ("Alerts:Smtp:OAuth2:RefreshTokenFile", Path.Combine(dir, "refresh")), ("Alerts:Smtp:OAuth2:User", "alerts@school.test")]);
        Assert.Empty(errors);
        Assert.Equal("https://oauth2.googleapis.com/token", o!.Smtp.OAuth2.EffectiveTokenEndpoint);
        Assert.True(o.Smtp.OAuth2.UsesRefreshToken);
        Assert.Null(o.Smtp.OAuth2.EffectiveScope);
        Assert.Equal("1//token", SmtpOAuth2Settings.Secret(o.Smtp.OAuth2.RefreshToken, o.Smtp.OAuth2.RefreshTokenFile));
    }

    [Fact]
    public void Issue20_SmtpOAuth2_EveryProblem_ReportedWithItsKey()
    {
        var (o, errors) = Bind([.. Mail, ("Alerts:Smtp:User", "filter"), ("Alerts:Smtp:Password", "p"), ("Alerts:Smtp:Security", "None"),
            ("Alerts:Smtp:OAuth2:Provider", "Microsoft"), ("Alerts:Smtp:OAuth2:ClientSecret", "s"), ("Alerts:Smtp:OAuth2:ClientSecretFile", "/nonexistent/secret"),
            ("Alerts:Smtp:OAuth2:User", "not-an-address")]);
        Assert.Null(o);
        Assert.Equal(
        [
            "Alerts:Smtp:OAuth2 and Alerts:Smtp:User/Password: give one way to sign in (OAuth2 signs in as Alerts:Smtp:OAuth2:User)",
            "Alerts:Smtp:OAuth2:ClientId: required when Alerts:Smtp:OAuth2:Provider is set",
            "Alerts:Smtp:OAuth2:User: 'not-an-address' is not an email address",
            "Alerts:Smtp:OAuth2:ClientSecret and Alerts:Smtp:OAuth2:ClientSecretFile: give one",
            "Alerts:Smtp:OAuth2:ClientSecretFile: '/nonexistent/secret': Could not find a part of the path '/nonexistent/secret'.",
            "Alerts:Smtp:OAuth2:TenantId: required for Microsoft (the directory id or domain in the token endpoint), or give Alerts:Smtp:OAuth2:TokenEndpoint",
            "Alerts:Smtp:OAuth2: needs TLS to the SMTP server (Alerts:Smtp:Security StartTls or SslOnConnect): a bearer token must not cross the network in clear",
        ], errors);
    }

    [Theory]
    [InlineData("Google", "", "Alerts:Smtp:OAuth2:RefreshToken (or RefreshTokenFile): required for Google (Gmail SMTP has no client-credentials grant)")]
    [InlineData("Custom", "", "Alerts:Smtp:OAuth2:TokenEndpoint: required when Alerts:Smtp:OAuth2:Provider is Custom")]
    [InlineData("Microsoft", "http://login.test/token", "Alerts:Smtp:OAuth2:TokenEndpoint: 'http://login.test/token' is not an absolute https URL (plain http only on loopback)")]
    public void Issue20_SmtpOAuth2_ProviderProblems(string provider, string endpoint, string error)
    {
        var (_, errors) = Bind([.. Mail, ("Alerts:Smtp:OAuth2:Provider", provider), ("Alerts:Smtp:OAuth2:TokenEndpoint", endpoint),
            ("Alerts:Smtp:OAuth2:ClientId", "app"), ("Alerts:Smtp:OAuth2:ClientSecret", "s"), ("Alerts:Smtp:OAuth2:User", "alerts@school.test")]);
        Assert.Equal([error], errors);
    }

    [Fact]
    public void Issue20_SmtpOAuth2_UnknownProvider_IsAnError()
    {
        var (_, errors) = Bind([.. Mail, ("Alerts:Smtp:OAuth2:Provider", "Yahoo")]);
        Assert.Single(errors, e => e.StartsWith("Alerts: ") && e.Contains("Yahoo"));
    }
}
