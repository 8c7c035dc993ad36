using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FilterService.Tests.TestSupport;

/// <summary>One message as rsyslog parsed it (RFC 5424), and as it arrived.</summary>
public sealed record SyslogMessage(string Raw, int Pri, string Version, string AppName, string ProcId, string MsgId, string StructuredData, string Msg);

/// <summary>
/// Debian's rsyslogd (installed by .ci/install-deps; rsyslog-gnutls for TLS) as a collector on 127.0.0.1 and a free
/// port: <c>rsyslogd -n -f CONF -i PIDFILE</c> with imtcp (octet-counted framing is on by default), and with
/// <see cref="Tls"/> the gtls netstream driver with a CA and server certificate this class makes. Every message
/// received on that input is written twice: raw (<c>%rawmsg%</c>) and as rsyslog's own RFC 5424 parse (PRI,
/// version, APP-NAME, PROCID, MSGID, STRUCTURED-DATA, MSG), one line each.
/// </summary>
public sealed class Rsyslog : IAsyncDisposable
{
    private const string Daemon = "/usr/sbin/rsyslogd";

    private readonly string _dir;
    private Process? _process;

    private Rsyslog(string dir, int port, bool tls, bool clientCertificates)
    {
        _dir = dir;
        Port = port;
        Tls = tls;
        RequiresClientCertificate = clientCertificates;
    }

    public int Port { get; }
    public bool Tls { get; }

    /// <summary>Mutual TLS: <c>StreamDriver.AuthMode="x509/certvalid"</c>, a client certificate from the same CA required.</summary>
    public bool RequiresClientCertificate { get; }

    /// <summary>A client certificate (and key) signed by <see cref="CaFile"/>'s CA, PEM; null without TLS.</summary>
    public string? ClientCertificateFile => Tls ? Path.Combine(_dir, "client.pem") : null;

    public string? ClientKeyFile => Tls ? Path.Combine(_dir, "client-key.pem") : null;

    /// <summary>The CA that signed the collector's certificate (PEM), for <c>Audit:Syslog:CaFile</c>; null without TLS.</summary>
    public string? CaFile => Tls ? Path.Combine(_dir, "ca.pem") : null;

    /// <summary>A CA that signed nothing here: trusting only it must refuse the collector.</summary>
    public string? OtherCaFile => Tls ? Path.Combine(_dir, "other-ca.pem") : null;

    public bool Running => _process is { HasExited: false };

    public string Output { get; private set; } = "";

    /// <param name="clientCertificates">With <paramref name="tls"/>: refuse clients without a certificate from the test CA.</param>
    public static async Task<Rsyslog> StartAsync(bool tls = false, bool clientCertificates = false)
    {
        if (!File.Exists(Daemon))
        {
            throw new Xunit.Sdk.XunitException("rsyslogd is not installed: run .ci/install-deps (apt-get install rsyslog rsyslog-gnutls)");
        }
        var dir = TempDir.Create("rsyslog");
        var collector = new Rsyslog(dir, SmtpSink.FreePort(), tls, tls && clientCertificates);
        if (tls)
        {
            collector.MakeCertificates();
        }
        File.WriteAllText(Path.Combine(dir, "rsyslog.conf"), collector.Config());
        await collector.StartAgainAsync();
        return collector;
    }

    private string Config()
    {
        var global = Tls
            ? $"""
               global(workDirectory="{_dir}" maxMessageSize="64k"
                      DefaultNetstreamDriver="gtls"
                      DefaultNetstreamDriverCAFile="{_dir}/ca.pem"
                      DefaultNetstreamDriverCertFile="{_dir}/cert.pem"
                      DefaultNetstreamDriverKeyFile="{_dir}/key.pem")
               module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="{(RequiresClientCertificate ? "x509/certvalid" : "anon")}")
               """
            : $"""
               global(workDirectory="{_dir}" maxMessageSize="64k")
               module(load="imtcp")
               """;
        return global + $$"""

            template(name="raw" type="string" string="%rawmsg%\n")
            template(name="parsed" type="string" string="%pri%\t%protocol-version%\t%app-name%\t%procid%\t%msgid%\t%structured-data%\t%msg%\n")
            ruleset(name="audit") {
              action(type="omfile" file="{{_dir}}/raw.log" template="raw")
              action(type="omfile" file="{{_dir}}/parsed.log" template="parsed")
            }
            input(type="imtcp" address="127.0.0.1" port="{{Port}}" ruleset="audit")

            """;
    }

    private void MakeCertificates()
    {
        static (X509Certificate2 Cert, RSA Key) Ca(string name)
        {
            var key = RSA.Create(2048);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            return (request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30)), key);
        }
        var (ca, caKey) = Ca("Syslog test CA");
        var (other, _) = Ca("Some other CA");
        using var serverKey = RSA.Create(2048);
        var server = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        server.CertificateExtensions.Add(names.Build());
        server.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        server.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        using var cert = server.Create(ca.IssuerName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(Path.Combine(_dir, "ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "other-ca.pem"), other.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "cert.pem"), cert.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "key.pem"), serverKey.ExportRSAPrivateKeyPem());
        using var clientKey = RSA.Create(2048);
        var client = new CertificateRequest("CN=school-filter", clientKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        client.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        client.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        using var clientCert = client.Create(ca.IssuerName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), RandomNumberGenerator.GetBytes(8));
        File.WriteAllText(Path.Combine(_dir, "client.pem"), clientCert.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "client-key.pem"), clientKey.ExportPkcs8PrivateKeyPem());
        ca.Dispose();
        other.Dispose();
        caKey.Dispose();
    }

    /// <summary>Starts rsyslogd (again, on the same port) and waits, at most 20 s, until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var pidFile = Path.Combine(_dir, "rsyslogd.pid");
        File.Delete(pidFile);
        var psi = new ProcessStartInfo(Daemon)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-n", "-f", Path.Combine(_dir, "rsyslog.conf"), "-i", pidFile })
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi)!;
        _process = process;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                Output = await stdout + await stderr;
                throw new Xunit.Sdk.XunitException($"rsyslogd exited ({process.ExitCode}):\n{Output}\n{File.ReadAllText(Path.Combine(_dir, "rsyslog.conf"))}");
            }
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Stops rsyslogd (SIGKILL: its sockets close as a crashed or stopped collector's do) and waits for it.</summary>
    public async Task StopAsync()
    {
        if (_process is { } p)
        {
            await p.StopAsync();
            p.Dispose();
            _process = null;
        }
    }

    /// <summary>Every message received so far, as rsyslog parsed it.</summary>
    public List<SyslogMessage> Messages()
    {
        var raw = ReadLines("raw.log");
        var parsed = ReadLines("parsed.log");
        var messages = new List<SyslogMessage>();
        for (int i = 0; i < Math.Min(raw.Count, parsed.Count); i++)
        {
            var f = parsed[i].Split('\t', 7);
            messages.Add(new SyslogMessage(raw[i], int.Parse(f[0]), f[1], f[2], f[3], f[4], f[5], f[6].TrimStart('\uFEFF')));
        }
        return messages;
    }

    /// <summary>Waits (at most 20 s) until <paramref name="done"/> holds for the messages received.</summary>
    public async Task<List<SyslogMessage>> WaitForAsync(Func<List<SyslogMessage>, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var messages = Messages();
            if (done(messages))
            {
                return messages;
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                throw new Xunit.Sdk.XunitException($"rsyslog did not receive {what}; it has:\n" + string.Join("\n", messages.Select(m => m.Raw)));
            }
            await Task.Delay(100);
        }
    }

    private List<string> ReadLines(string name)
    {
        var path = Path.Combine(_dir, name);
        if (!File.Exists(path))
        {
            return [];
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var lines = new List<string>();
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                lines.Add(line);
            }
        }
        return lines;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
