using System.Diagnostics;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FilterService.Tests.Cli;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// Issue 17, inspection named in the policy, through the service as its own process: a school inspection CA (<c>ca init</c>),
/// and a local TLS origin whose certificate comes from a CA of its own ("Issue17 Origin CA"), standing in for the NHS, a
/// named host and the Microsoft and Google sign-in hosts through <c>Proxy:HostOverrides</c>. The default sample, with
/// 127.0.0.0/8 on the pupil LAN (so curl and Chromium are pupils unless they sign in), a path rule covering nhs.uk (which
/// the shipped never-inspect list takes away), <c>inspection.hosts: [named.test]</c>, two never-inspect hosts the
/// policy blocks (one statutory, one not) and tenant restrictions for pupils.
/// </summary>
public sealed class InspectionPolicyFixture : IAsyncLifetime
{
    public const string OriginCaName = "Issue17 Origin CA";
    public const string Context = "6c3e5c2a-1f47-4b8e-9d2a-0c5b7e8f9a10";

    public ServiceProcess Service { get; private set; } = null!;
    public TestOrigin Origin { get; private set; } = null!;
    public CountingListener Blocked { get; private set; } = null!;
    public string InspectionCa { get; private set; } = null!;
    /// <summary>The school CA's common name, as the issuer of every minted leaf.</summary>
    public string InspectionCaSubject { get; private set; } = null!;
    public string OriginCa { get; private set; } = null!;
    public string Audit { get; private set; } = null!;
    public string PolicyDirectory { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        (_, InspectionCa, var caKey) = await CaCommandTests.InitAsync();
        using (var ca = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(InspectionCa)))
        {
            InspectionCaSubject = ca.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        }
        var dir = TempDir.Create("issue17-origin");
        using var originCa = MakeCa(OriginCaName);
        OriginCa = Path.Combine(dir, "origin-ca.pem");
        await File.WriteAllTextAsync(OriginCa, originCa.ExportCertificatePem());
        var leaf = MakeLeaf(originCa, "www.nhs.uk", "named.test", "login.microsoftonline.com", "accounts.google.com");
        var leafPem = Path.Combine(dir, "origin-leaf.pem");
        await File.WriteAllTextAsync(leafPem, leaf.ExportCertificatePem());
        Origin = await TestOrigin.StartAsync(leaf);
        Blocked = new CountingListener();
        Audit = TempDir.Create("audit");

        var policy = PolicyDirectory = Samples.CopyDefault();
        var yaml = Path.Combine(policy, "policy.yaml");
        var text = await File.ReadAllTextAsync(yaml);
        var edited = text
            .Replace("pupil-lan:   { cidrs: [10.40.0.0/16], default_role: pupil }", "pupil-lan:   { cidrs: [10.40.0.0/16, 127.0.0.0/8], default_role: pupil }")
            .Replace("\nrules:\n", """

                rules:
                  - name: nhs-forms
                    description: a path rule covering a never-inspect host (check warns PM0606)
                    roles: [pupil]
                    hosts: [nhs.uk]
                    paths: ["/forms*"]
                    action: block

                """)
            .Replace("inspection:\n  never_inspect:\n    lists: [lists/never-inspect.txt]\n", $$"""
                inspection:
                  hosts: [named.test]
                  never_inspect:
                    hosts: [blocked-terror.test, www.facebook.com]
                    lists: [lists/never-inspect.txt]
                tenant_restrictions:
                  roles: [pupil]
                  microsoft: { tenants: [cherryoak.onmicrosoft.com], context: {{Context}} }
                  google: { allowed_domains: [cherryoak.org.uk] }

                """);
        Assert.Equal(3, new[] { "127.0.0.0/8", "nhs-forms", "tenant_restrictions" }.Count(edited.Contains));
        await File.WriteAllTextAsync(yaml, edited);
        Service = await ServiceProcess.StartAsync([
            $"--Policy:Path={policy}", $"--Audit:Path={Audit}", "--Proxy:AllowLoopbackUpstream=true",
            $"--Proxy:InspectionCaCertificate={InspectionCa}", $"--Proxy:InspectionCaKey={caKey}", $"--Proxy:UpstreamTrustedCertificates={leafPem}",
            .. new[] { "www.nhs.uk", "named.test", "login.microsoftonline.com", "accounts.google.com" }.Select(h => $"--Proxy:HostOverrides:{h}=127.0.0.1:{Origin.HttpsPort}"),
            $"--Proxy:HostOverrides:blocked-terror.test=127.0.0.1:{Blocked.Port}",
            $"--Proxy:HostOverrides:www.facebook.com=127.0.0.1:{Blocked.Port}"]);
    }

    internal static X509Certificate2 MakeCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static X509Certificate2 MakeLeaf(X509Certificate2 ca, params string[] names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in names)
        {
            san.AddDnsName(n);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var signed = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(16));
        using var withKey = signed.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
    }

    public List<JsonElement> AuditRecords() => AuditFiles.Read(Audit);

    public async Task<JsonElement> WaitForAuditAsync(Func<JsonElement, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var records = AuditRecords();
            if (records.LastOrDefault(match) is { ValueKind: JsonValueKind.Object } found)
            {
                return found;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"no audit record for {what}; records:\n" + string.Join("\n", records.Select(r => r.GetRawText())));
            }
            await Task.Delay(100);
        }
    }

    /// <summary>The issuer curl reports for the certificate it was shown (<c>-v</c>: "*  issuer: CN=...").</summary>
    public static string? Issuer(CurlResult result) =>
        result.Stderr.Split('\n').Select(l => l.TrimStart('*', ' ')).FirstOrDefault(l => l.StartsWith("issuer:", StringComparison.Ordinal))?["issuer:".Length..].Trim();

    public async Task DisposeAsync()
    {
        if (Service is not null)
        {
            await Service.DisposeAsync();
        }
        if (Origin is not null)
        {
            await Origin.DisposeAsync();
        }
        if (Blocked is not null)
        {
            await Blocked.DisposeAsync();
        }
    }
}

public sealed class InspectionPolicyTests(InspectionPolicyFixture fixture) : IClassFixture<InspectionPolicyFixture>
{
    private string Proxy => fixture.Service.Proxy;

    [Fact]
    public async Task Issue17_NeverInspect_HostUnderAPathRule_IsSpliced_TheClientSeesTheOriginsOwnCertificate()
    {
        var result = await Curl.RunAsync("-v", "--cacert", fixture.OriginCa, "--proxy", Proxy, "https://www.nhs.uk/hello");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(200, result.HttpCode);
        Assert.Contains("Hello from the origin", result.Body);
        Assert.Contains(InspectionPolicyFixture.OriginCaName, InspectionPolicyFixture.Issuer(result));
        // Trusting only the school's inspection CA fails: nothing was minted for this host.
        var bumped = await Curl.RunAsync("--cacert", fixture.InspectionCa, "--proxy", Proxy, "https://www.nhs.uk/hello");
        Assert.NotEqual(0, bumped.ExitCode);
        var connect = await fixture.WaitForAuditAsync(r => r.Str("url") == "www.nhs.uk:443" && r.Str("method") == "CONNECT", "the spliced tunnel");
        Assert.Equal("pupil", connect.GetProperty("roles")[0].GetString());
        Assert.DoesNotContain(fixture.AuditRecords(), r => r.Str("url") == "https://www.nhs.uk/hello"); // never decrypted, never seen
    }

    [Fact]
    public async Task Issue17_NamedInspectionHost_IsBumped_WithALeafMintedByTheSchoolCa()
    {
        var result = await Curl.RunAsync("-v", "--cacert", fixture.InspectionCa, "--proxy", Proxy, "https://named.test/hello");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(200, result.HttpCode);
        Assert.Contains("Hello from the origin", result.Body);
        Assert.Contains("CN=" + fixture.InspectionCaSubject, InspectionPolicyFixture.Issuer(result));
        Assert.DoesNotContain(InspectionPolicyFixture.OriginCaName, InspectionPolicyFixture.Issuer(result));
        await fixture.WaitForAuditAsync(r => r.Str("url") == "https://named.test/hello" && r.Int("status") == 200, "the inspected request");
    }

    [Fact]
    public async Task Issue17_NeverInspect_StatutoryListedHost_StillGetsTheBlockPage()
    {
        var result = await Curl.RunAsync("--cacert", fixture.InspectionCa, "--proxy", Proxy, "https://blocked-terror.test/");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(200, result.ConnectCode);
        Assert.Equal(403, result.HttpCode);
        Assert.Contains("statutory:terrorism", result.Body);
        Assert.Equal(0, fixture.Blocked.Accepted);
    }

    [Fact]
    public async Task Issue17_NeverInspect_HostBlockedForAPupil_Gets403ToTheConnect_NotABumpedBlockPage()
    {
        var result = await Curl.RunAsync("--cacert", fixture.InspectionCa, "--proxy", Proxy, "https://www.facebook.com/");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal(403, result.ConnectCode);
        var r = await fixture.WaitForAuditAsync(r => r.Str("url") == "www.facebook.com:443" && r.Int("status") == 403, "the refused CONNECT");
        Assert.Equal("pupils-social", r.Str("rule"));
        Assert.Equal(0, fixture.Blocked.Accepted);
    }

    [Fact]
    public async Task Issue17_TenantRestrictions_MicrosoftHeadersArriveAtTheOrigin_AForgedOneIsReplaced()
    {
        var result = await Curl.RunAsync("--cacert", fixture.InspectionCa, "--proxy", Proxy,
            "-H", "Restrict-Access-To-Tenants: evil.onmicrosoft.com", "-H", "Restrict-Access-Context: 00000000-0000-0000-0000-000000000000",
            "https://login.microsoftonline.com/headers");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(200, result.HttpCode);
        var lines = result.Body.Split('\n');
        Assert.Equal("Restrict-Access-To-Tenants: cherryoak.onmicrosoft.com", Assert.Single(lines, l => l.StartsWith("Restrict-Access-To-Tenants:", StringComparison.OrdinalIgnoreCase)));
        Assert.Equal($"Restrict-Access-Context: {InspectionPolicyFixture.Context}", Assert.Single(lines, l => l.StartsWith("Restrict-Access-Context:", StringComparison.OrdinalIgnoreCase)));
        Assert.DoesNotContain("evil", result.Body);
    }

    [Fact]
    public async Task Issue17_TenantRestrictions_GoogleHeaderArrivesAtTheOrigin_AForgedOneIsReplaced()
    {
        var result = await Curl.RunAsync("--cacert", fixture.InspectionCa, "--proxy", Proxy,
            "-H", "X-GoogApps-Allowed-Domains: gmail.com", "https://accounts.google.com/headers");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Body.Split('\n');
        Assert.Equal("X-GoogApps-Allowed-Domains: cherryoak.org.uk", Assert.Single(lines, l => l.StartsWith("X-GoogApps-Allowed-Domains:", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task Issue17_TenantRestrictions_StaffAreNotRestricted_TheirSignInIsSpliced()
    {
        var result = await Curl.RunAsync("-v", "--cacert", fixture.OriginCa, "--proxy", Proxy, "--proxy-user", "staff1:staff1-demo",
            "https://login.microsoftonline.com/headers");
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains(InspectionPolicyFixture.OriginCaName, InspectionPolicyFixture.Issuer(result));
        Assert.DoesNotContain("Restrict-Access-To-Tenants", result.Body, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Real Chromium whose NSS database trusts only the origin's own CA, not the school's inspection CA: a never-inspect
    /// host (under a path rule that would otherwise inspect it) loads, so Chromium was shown the origin's certificate; a
    /// host the policy inspects does not load in the same browser, so the trust set-up tells the two apart.
    /// </summary>
    [Fact]
    public async Task Issue17_Chromium_NeverInspectHost_ArrivesWithTheOriginsOwnCertificate()
    {
        var home = TempDir.Create("home");
        var nss = Path.Combine(home, ".pki", "nssdb");
        Directory.CreateDirectory(nss);
        await ChromiumSchool.RunAsync("/usr/bin/certutil", "-N", "-d", "sql:" + nss, "--empty-password");
        await ChromiumSchool.RunAsync("/usr/bin/certutil", "-A", "-d", "sql:" + nss, "-n", "origin-ca", "-t", "C,,", "-i", fixture.OriginCa);
        string[] proxy = Chromium.ThroughProxy(fixture.Service.ProxyPort);

        var spliced = await Chromium.RunAsync("https://www.nhs.uk/hello", [.. proxy, "--dump-dom"], home);
        Assert.Contains("Hello from the origin", spliced);

        var bumped = await Chromium.RunAsync("https://named.test/hello", [.. proxy, "--dump-dom"], home);
        Assert.DoesNotContain("Hello from the origin", bumped);
    }

    [Fact]
    public async Task Issue17_Explain_AnswersAsTheProxyDid_NeverInspectNamedAndTenantHosts()
    {
        async Task<JsonElement> Explain(string url)
        {
            var (exit, stdout, err) = await CaCommandTests.RunAsync("explain", "--policy", fixture.PolicyDirectory, "--ip", "127.0.0.1", "--at", "2026-11-23T10:00",
                "--url", url, "--inspection-ca", "true", "--json");
            Assert.True(exit == 0, err);
            return JsonDocument.Parse(stdout).RootElement.Clone();
        }
        var nhs = await Explain("https://www.nhs.uk/forms/x");
        Assert.Equal("connect-host", nhs.Str("decided_on"));
        Assert.Equal("never-inspect", nhs.GetProperty("inspection").Str("reason"));
        Assert.Equal("never_inspect list lists/never-inspect.txt, entry 'nhs.uk'", nhs.GetProperty("inspection").Str("detail"));
        var named = await Explain("https://named.test/hello");
        Assert.Equal("url", named.Str("decided_on"));
        Assert.Equal("named", named.GetProperty("inspection").Str("reason"));
        var facebook = await Explain("https://www.facebook.com/");
        Assert.Equal("connect-403", facebook.Str("answered_with"));
        var terror = await Explain("https://blocked-terror.test/");
        Assert.Equal("block-page-in-tls", terror.Str("answered_with"));
        var login = await Explain("https://login.microsoftonline.com/common/oauth2");
        Assert.Equal("url", login.Str("decided_on"));
        Assert.Equal("tenant-restrictions", login.GetProperty("inspection").Str("reason"));
    }
}
