using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using FilterService.Notifications;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Notifications;

/// <summary>
/// Issue 15, item 15: every alert channel against the service started as its own process, exactly as deployed (the
/// process-wide socket settings of the real host apply; in-process hosting hid an email stall). A pupil asks the proxy
/// for a statutory (terrorism) host; the alert must arrive once and the outbox must mark it delivered, so it is not
/// sent again, well within one delivery timeout.
/// </summary>
public sealed partial class DeployedAlertTests
{
    /// <summary>Within one attempt's timeout (Alerts:Timeout below): a send that waits for the timeout cannot pass.</summary>
    private static readonly TimeSpan Delivered = TimeSpan.FromSeconds(8);

    private static string[] Fast => [
        "--Alerts:Retry:BaseDelay=00:00:00.2",
        "--Alerts:Retry:MaxDelay=00:00:01",
        "--Alerts:Retry:MaxAttempts=2",
        "--Alerts:PollInterval=00:00:00.3",
        "--Alerts:Timeout=00:00:10",
    ];

    private static string[] Email(int port, params string[] more) => [
        "--Alerts:Smtp:Host=127.0.0.1",
        $"--Alerts:Smtp:Port={port}",
        "--Alerts:Email:From=filter@school.test",
        "--Alerts:Email:To=dsl@school.test",
        .. more,
    ];

    [Fact]
    public async Task Item15_EmailWithoutStartTls_DeployedService_ArrivesOnceAndIsMarkedDelivered()
    {
        await using var smtp = await SmtpSink.StartAsync();
        var outbox = TempDir.Create("outbox");
        await using (var service = await StartAsync(outbox, Email(smtp.Port, "--Alerts:Smtp:StartTls=false")))
        {
            await PupilTriesTerrorAsync(service);
            await WaitForDeliveredAsync(service, "email");
        }

        var mail = Assert.Single(smtp.Messages());
        Assert.Contains("HIGH alert: Pat Pupil (pupil1) tried blocked-terror.test (terrorism)", Unfold(mail));
        Assert.Contains("\"channel\":\"email\"", Journal(outbox));
    }

    [Fact]
    public async Task Item15_EmailWithRequiredStartTls_PinnedSelfSignedCertificate_ArrivesOnceAndIsMarkedDelivered()
    {
        var (cert, key) = SelfSigned();
        // aiosmtpd with --tlscert requires STARTTLS before MAIL: a message in the maildir went over TLS.
        await using var smtp = await SmtpSink.StartAsync(tls: new SmtpTls(cert, key, Implicit: false));
        var outbox = TempDir.Create("outbox");
        await using (var service = await StartAsync(outbox, Email(smtp.Port, "--Alerts:Smtp:Security=StartTls", $"--Alerts:Smtp:TrustedCertificates={cert}")))
        {
            await PupilTriesTerrorAsync(service);
            await WaitForDeliveredAsync(service, "email");
        }

        Assert.Contains("tried blocked-terror.test (terrorism)", Unfold(Assert.Single(smtp.Messages())));
        Assert.Contains("\"channel\":\"email\"", Journal(outbox));
    }

    [Fact]
    public async Task Item15_EmailWithLoginOverStartTls_ArrivesOnceAndIsMarkedDelivered()
    {
        var (cert, key) = SelfSigned();
        // The server refuses MAIL before STARTTLS and AUTH: the message arriving shows both happened.
        await using var smtp = await SmtpSink.StartAsync(tls: new SmtpTls(cert, key, Implicit: false), login: ("filter", "s3cret-pass"));
        var outbox = TempDir.Create("outbox");
        await using (var service = await StartAsync(outbox, Email(smtp.Port, $"--Alerts:Smtp:TrustedCertificates={cert}",
            "--Alerts:Smtp:User=filter", "--Alerts:Smtp:Password=s3cret-pass")))
        {
            await PupilTriesTerrorAsync(service);
            await WaitForDeliveredAsync(service, "email");
        }

        Assert.Contains("tried blocked-terror.test (terrorism)", Unfold(Assert.Single(smtp.Messages())));
    }

    [Fact]
    public async Task Item15_EmailWithWrongPassword_IsNeverSentAndStaysPending()
    {
        var (cert, key) = SelfSigned();
        await using var smtp = await SmtpSink.StartAsync(tls: new SmtpTls(cert, key, Implicit: false), login: ("filter", "s3cret-pass"));
        await using var service = await StartAsync(TempDir.Create("outbox"), Email(smtp.Port, $"--Alerts:Smtp:TrustedCertificates={cert}",
            "--Alerts:Smtp:User=filter", "--Alerts:Smtp:Password=wrong-pass"));

        await PupilTriesTerrorAsync(service);

        await WaitForFailedAsync(service);
        Assert.Empty(smtp.Messages());
    }

    [Fact]
    public async Task Item15_EmailWithImplicitTls_PinnedSelfSignedCertificate_ArrivesOnceAndIsMarkedDelivered()
    {
        var (cert, key) = SelfSigned();
        await using var smtp = await SmtpSink.StartAsync(tls: new SmtpTls(cert, key, Implicit: true));
        var outbox = TempDir.Create("outbox");
        await using (var service = await StartAsync(outbox, Email(smtp.Port, "--Alerts:Smtp:Security=SslOnConnect", $"--Alerts:Smtp:TrustedCertificates={cert}")))
        {
            await PupilTriesTerrorAsync(service);
            await WaitForDeliveredAsync(service, "email");
        }

        Assert.Contains("tried blocked-terror.test (terrorism)", Unfold(Assert.Single(smtp.Messages())));
    }

    [Fact]
    public async Task Item15_EmailWithStartTls_CertificateNotTrusted_IsNeverSentAndStaysPending()
    {
        var (cert, key) = SelfSigned();
        await using var smtp = await SmtpSink.StartAsync(tls: new SmtpTls(cert, key, Implicit: false));
        var outbox = TempDir.Create("outbox");
        await using var service = await StartAsync(outbox, Email(smtp.Port, "--Alerts:Smtp:Security=StartTls"));

        await PupilTriesTerrorAsync(service);

        await WaitForFailedAsync(service);
        Assert.Empty(smtp.Messages());
    }

    [Fact]
    public async Task Item15_Webhook_DeployedService_ArrivesOnceAndIsMarkedDelivered()
    {
        await using var hook = await WebhookReceiver.StartAsync(failFirst: 0);
        var outbox = TempDir.Create("outbox");
        await using (var service = await StartAsync(outbox, [$"--Alerts:Webhook:Url={hook.Url}"]))
        {
            await PupilTriesTerrorAsync(service);
            await WaitForDeliveredAsync(service, "webhook");
        }

        var accepted = Assert.Single(hook.Requests);
        Assert.Equal(200, accepted.Status);
        Assert.Contains("blocked-terror.test", accepted.Body);
        Assert.Contains("\"channel\":\"webhook\"", Journal(outbox));
    }

    /// <summary>A self-signed certificate for 127.0.0.1 as PEM files (certificate, unencrypted PKCS#8 key) for aiosmtpd.</summary>
    private static (string Certificate, string Key) SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var dir = TempDir.Create("smtp-tls");
        var certPath = Path.Combine(dir, "smtp.pem");
        var keyPath = Path.Combine(dir, "smtp.key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    [Fact]
    public async Task Item13_OutboxDiskFull_DeployedService_EmailsFromMemory_MetricAndHealthSayIt_WrittenWhenSpaceReturns()
    {
        await using var smtp = await SmtpSink.StartAsync();
        using var disk = FullDisk.Mount();
        var outbox = Path.Combine(disk.Path, "alerts-outbox");
        await using (var service = await StartAsync(outbox, Email(smtp.Port, "--Alerts:Smtp:StartTls=false")))
        {
            disk.Fill();
            var started = DateTime.UtcNow;
            await PupilTriesTerrorAsync(service);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "the block page waited " + (DateTime.UtcNow - started));

            // Delivered from memory while the disk is full: the DSL's email is not held up by the outbox.
            await WaitForDeliveredAsync(service, "email");
            Assert.Contains("tried blocked-terror.test (terrorism)", Unfold(Assert.Single(smtp.Messages())));
            var metrics = await MetricsAsync(service);
            Assert.Matches(@"(?m)^filterservice_alerts_outbox_write_failures\S*_total(\{[^}]*\})? [1-9]", metrics);
            Assert.Matches(@"(?m)^filterservice_alerts_outbox_not_durable\S*(\{[^}]*\})? 1\b", metrics);
            Assert.Contains("\"status\":\"degraded\"", await AdminGetAsync(service, "/health"));
            Assert.Contains("[1502]", service.Output);

            // Space returns: the retry (backoff at most Alerts:Retry:MaxDelay = 1 s here) writes the incident and its mark.
            disk.Free();
            var deadline = DateTime.UtcNow + Delivered;
            while (!Regex.IsMatch(await MetricsAsync(service), @"(?m)^filterservice_alerts_outbox_not_durable\S*(\{[^}]*\})? 0\b"))
            {
                Assert.True(DateTime.UtcNow < deadline, "the held incident was not written within " + Delivered + ":\n" + service.Output);
                await Task.Delay(100);
            }
            Assert.Contains("\"status\":\"ok\"", await AdminGetAsync(service, "/health"));
        }

        var journal = Journal(outbox);
        Assert.Contains("blocked-terror.test", journal);
        Assert.Contains("\"channel\":\"email\"", journal);
        Assert.Single(smtp.Messages());
    }

    private static async Task<ServiceProcess> StartAsync(string outbox, string[] channel) =>
        await ServiceProcess.StartAsync([$"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}",
            $"--Alerts:Outbox:Path={outbox}", .. Fast, .. channel]);

    private static async Task PupilTriesTerrorAsync(ServiceProcess service)
    {
        var http = await Curl.RunAsync("--proxy", service.Proxy, "--proxy-user", "pupil1:pupil1-demo", "http://blocked-terror.test/page");
        Assert.Equal(403, http.HttpCode);
    }

    /// <summary>
    /// Waits (bounded by <see cref="Delivered"/>) until /metrics says one alert was delivered on the channel and none is
    /// pending: the worker counts a delivery only after the outbox's <c>done</c> line is fsynced, so it is not sent again.
    /// </summary>
    private static async Task WaitForDeliveredAsync(ServiceProcess service, string channel)
    {
        var delivered = new Regex($@"(?m)^filterservice_alerts_delivered\S*_total\{{[^}}]*channel=""{channel}""[^}}]*\}} 1\b");
        var pending = new Regex($@"(?m)^filterservice_alerts_pending\S*\{{[^}}]*channel=""{channel}""[^}}]*\}} 0\b");
        var deadline = DateTime.UtcNow + Delivered;
        while (true)
        {
            var metrics = await MetricsAsync(service);
            if (delivered.IsMatch(metrics) && pending.IsMatch(metrics))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"not delivered once on {channel} within {Delivered}; metrics:\n"
                    + string.Join("\n", metrics.Split('\n').Where(l => l.StartsWith("filterservice_alerts", StringComparison.Ordinal)))
                    + "\nservice output:\n" + service.Output);
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Waits (bounded) until the email channel's retries are spent (3 attempts, 0.2-1 s apart) and the alert is still pending.</summary>
    private static async Task WaitForFailedAsync(ServiceProcess service)
    {
        var failed = new Regex(@"(?m)^filterservice_alerts_failed\S*_total\{[^}]*channel=""email""[^}]*\} [1-9]");
        var deadline = DateTime.UtcNow + Delivered;
        string metrics;
        while (!failed.IsMatch(metrics = await MetricsAsync(service)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no failed delivery counted within " + Delivered + ":\n" + metrics + "\n" + service.Output);
            await Task.Delay(100);
        }
        Assert.Matches(@"(?m)^filterservice_alerts_pending\S*\{[^}]*channel=""email""[^}]*\} 1\b", metrics);
    }

    /// <summary>The journal after the service stopped (it holds the file exclusively while running).</summary>
    private static string Journal(string outbox) => File.ReadAllText(Path.Combine(outbox, Outbox.FileName));

    private static Task<string> MetricsAsync(ServiceProcess service) => AdminGetAsync(service, "/metrics");

    private static async Task<string> AdminGetAsync(ServiceProcess service, string path)
    {
        var admin = AdminLine().Match(service.Output);
        Assert.True(admin.Success, "no admin port in the start-up line:\n" + service.Output);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync($"http://127.0.0.1:{admin.Groups[1].Value}{path}");
    }

    private static string Unfold(string mail) => Regex.Replace(mail, @"\r?\n[ \t]+", " ");

    [GeneratedRegex(@"admin on 127\.0\.0\.1:(\d+)")]
    private static partial Regex AdminLine();
}
