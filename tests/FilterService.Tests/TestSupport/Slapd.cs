using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// A real OpenLDAP server (Debian's slapd) on 127.0.0.1 for one test: its own temporary directory with a
/// <c>slapd.conf</c>, an MDB database loaded with <c>slapadd</c> from the test's LDIF, and a TLS certificate for
/// 127.0.0.1 issued by a CA made here (<see cref="CaDirectory"/> holds the CA for the client to trust). Listens on
/// ldap:// (StartTLS) and ldaps:// on free ports. <see cref="StopAsync"/> stops it mid-test; dispose stops it for good.
/// </summary>
public sealed class Slapd : IAsyncDisposable
{
    public const string Suffix = "dc=school,dc=test";
    public const string AdminDn = "cn=admin," + Suffix;
    public const string AdminPassword = "admin-secret";
    public const string ServiceDn = "cn=filter,ou=Service," + Suffix;
    public const string ServicePassword = "filter-secret";

    private readonly string _dir;
    private Process? _process;

    private Slapd(string dir, int ldapPort, int ldapsPort)
    {
        _dir = dir;
        LdapPort = ldapPort;
        LdapsPort = ldapsPort;
    }

    public int LdapPort { get; }
    public int LdapsPort { get; }

    /// <summary>A directory holding only the CA certificate (PEM) that issued the server's: <c>Identity:Ldap:TrustedCertificatesDirectory</c>.</summary>
    public string CaDirectory => Path.Combine(_dir, "ca");

    public string LdapsUrl => $"ldaps://127.0.0.1:{LdapsPort}";
    public string LdapUrl => $"ldap://127.0.0.1:{LdapPort}";

    /// <summary>Makes the database from <paramref name="ldif"/> (entries below <see cref="Suffix"/>; the suffix and the service account are added) and starts slapd.</summary>
    public static async Task<Slapd> StartAsync(string ldif)
    {
        var dir = TempDir.Create("slapd");
        Directory.CreateDirectory(Path.Combine(dir, "db"));
        Directory.CreateDirectory(Path.Combine(dir, "ca"));
        WriteCertificates(dir);
        File.WriteAllText(Path.Combine(dir, "slapd.conf"), $"""
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/inetorgperson.schema
            modulepath /usr/lib/ldap
            moduleload back_mdb
            pidfile {dir}/slapd.pid
            TLSCACertificateFile {dir}/ca/ca.pem
            TLSCertificateFile {dir}/server.pem
            TLSCertificateKeyFile {dir}/server.key
            database mdb
            maxsize 10485760
            suffix "{Suffix}"
            rootdn "{AdminDn}"
            rootpw {AdminPassword}
            directory {dir}/db
            access to attrs=userPassword by anonymous auth by self read by * none
            access to * by dn.exact="{ServiceDn}" read by * none

            """);
        var full = $"""
            dn: {Suffix}
            objectClass: dcObject
            objectClass: organization
            dc: school
            o: Test School

            dn: ou=Service,{Suffix}
            objectClass: organizationalUnit
            ou: Service

            dn: {ServiceDn}
            objectClass: person
            cn: filter
            sn: filter
            userPassword: {ServicePassword}

            {ldif.Trim()}

            """;
        File.WriteAllText(Path.Combine(dir, "data.ldif"), full);
        var load = await RunAsync("/usr/sbin/slapadd", "-f", Path.Combine(dir, "slapd.conf"), "-l", Path.Combine(dir, "data.ldif"));
        if (load.Exit != 0)
        {
            throw new InvalidOperationException($"slapadd failed ({load.Exit}): {load.Output}");
        }
        // A free port can be taken by another test between choosing it and slapd binding it; slapd then exits at once
        // (with -d 0, silently). Try fresh ports, at most three times.
        for (int attempt = 1; ; attempt++)
        {
            var slapd = new Slapd(dir, SmtpSink.FreePort(), SmtpSink.FreePort());
            try
            {
                await slapd.StartAgainAsync();
                return slapd;
            }
            catch (InvalidOperationException) when (attempt < 3 && slapd._process is { HasExited: true })
            {
            }
        }
    }

    /// <summary>Starts slapd (again) on the same ports and database; returns once it answers on both.</summary>
    public async Task StartAgainAsync()
    {
        var psi = new ProcessStartInfo("/usr/sbin/slapd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-h", $"{LdapUrl}/ {LdapsUrl}/", "-f", Path.Combine(_dir, "slapd.conf"), "-d", "0" })
        {
            psi.ArgumentList.Add(a);
        }
        var output = new StringBuilder();
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(await Answers(LdapPort) && await Answers(LdapsPort)))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                string said;
                lock (output)
                {
                    said = output.ToString();
                }
                throw new InvalidOperationException($"slapd did not start: {said}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Stops slapd (killed, as a crashed server) and waits for it to exit: the directory is down until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            await p.StopAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    /// <summary>Applies an LDIF change (ldapmodify as the admin over StartTLS).</summary>
    public async Task ModifyAsync(string ldif)
    {
        var file = Path.Combine(_dir, $"change-{Guid.NewGuid():N}.ldif");
        File.WriteAllText(file, ldif);
        var result = await RunAsync("/usr/bin/ldapmodify", new Dictionary<string, string> { ["LDAPTLS_CACERT"] = Path.Combine(CaDirectory, "ca.pem") },
            "-x", "-ZZ", "-H", LdapUrl, "-D", AdminDn, "-w", AdminPassword, "-f", file);
        if (result.Exit != 0)
        {
            throw new InvalidOperationException($"ldapmodify failed ({result.Exit}): {result.Output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<bool> Answers(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>A CA and a server certificate for 127.0.0.1 (IP and DNS names) signed by it, as PEM files.</summary>
    private static void WriteCertificates(string dir)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Slapd Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var leaf = request.Create(ca, now.AddDays(-1), now.AddDays(29), RandomNumberGenerator.GetBytes(16));

        File.WriteAllText(Path.Combine(dir, "ca", "ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.pem"), leaf.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.key"), key.ExportPkcs8PrivateKeyPem());
    }

    private static Task<(int Exit, string Output)> RunAsync(string file, params string[] args) => RunAsync(file, null, args);

    private static async Task<(int Exit, string Output)> RunAsync(string file, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
