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

    [Fact]
    public void EmailClient_StartTlsAndCredentials_ComeFromOptions()
    {
        var (o, errors) = Bind(("Alerts:Smtp:Host", "mail.school.test"), ("Alerts:Smtp:User", "filter"), ("Alerts:Smtp:Password", "s3cret"),
            ("Alerts:Email:From", "filter@school.test"), ("Alerts:Email:To", "ict@school.test;dsl@school.test"));
        Assert.Empty(errors);
        using var client = EmailChannel.CreateClient(o!);
        Assert.Equal("mail.school.test", client.Host);
        Assert.Equal(587, client.Port);
        Assert.True(client.EnableSsl);
        var credential = Assert.IsType<NetworkCredential>(client.Credentials);
        Assert.Equal(("filter", "s3cret"), (credential.UserName, credential.Password));

        var (plain, _) = Bind(("Alerts:Smtp:Host", "127.0.0.1"), ("Alerts:Smtp:Port", "2525"), ("Alerts:Smtp:StartTls", "false"),
            ("Alerts:Email:From", "filter@school.test"), ("Alerts:Email:To", "ict@school.test"));
        using var plainClient = EmailChannel.CreateClient(plain!);
        Assert.False(plainClient.EnableSsl);
        Assert.Null(plainClient.Credentials);
    }
}
