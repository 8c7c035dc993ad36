using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FilterService.Tests.TestSupport;

/// <summary>
/// A real SMTP server: Debian's aiosmtpd (python3-aiosmtpd, installed by .ci/install-deps) on 127.0.0.1, storing
/// every message in a maildir. Run with /usr/bin/python3: a pyenv python3 earlier on PATH lacks the module.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly Process _process;

    private SmtpSink(Process process, int port, string maildir)
    {
        _process = process;
        Port = port;
        Maildir = maildir;
    }

    public int Port { get; }
    public string Maildir { get; }

    /// <summary>A loopback port nothing listens on (just now).</summary>
    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>
    /// aiosmtpd's command line has no AUTH; with a login the same server runs from this script, STARTTLS and AUTH
    /// (PLAIN, LOGIN) both required, so a message in the maildir was sent over TLS by a client that logged in.
    /// </summary>
    private const string LoginServer = """
        import signal, ssl, sys
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox
        from aiosmtpd.smtp import AuthResult, LoginPassword
        host, port, maildir, cert, key, user, password = sys.argv[1:]
        def check(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
        Controller(Mailbox(maildir), hostname=host, port=int(port), tls_context=tls, require_starttls=True,
                   authenticator=check, auth_required=True).start()
        signal.sigwait([signal.SIGTERM, signal.SIGINT])
        """;

    /// <summary>
    /// With an OAuth2 sign-in (issue 20): STARTTLS and AUTH required, XOAUTH2 the only mechanism (a handler
    /// <c>auth_XOAUTH2</c> method), accepting exactly <c>user=USER^Aauth=Bearer TOKEN^A^A</c>; anything else is 535.
    /// </summary>
    private const string OAuth2Server = """
        import base64, signal, ssl, sys
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox
        from aiosmtpd.smtp import AuthResult
        host, port, maildir, cert, key, user, token = sys.argv[1:]
        class Handler(Mailbox):
            async def auth_XOAUTH2(self, server, args):
                if len(args) == 2:
                    blob = base64.b64decode(args[1])
                else:
                    blob = await server.challenge_auth("")
                    if not isinstance(blob, bytes):
                        return AuthResult(success=False, handled=True)
                ok = blob == ("user=%s\x01auth=Bearer %s\x01\x01" % (user, token)).encode()
                return AuthResult(success=ok, handled=False)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
        Controller(Handler(maildir), hostname=host, port=int(port), tls_context=tls, require_starttls=True,
                   auth_required=True, auth_exclude_mechanism=["PLAIN", "LOGIN"]).start()
        signal.sigwait([signal.SIGTERM, signal.SIGINT])
        """;

    public static async Task<SmtpSink> StartAsync(int? port = null, string? maildir = null, SmtpTls? tls = null, (string User, string Password)? login = null,
        (string User, string Token)? xoauth2 = null)
    {
        if (!File.Exists(Python) || !Directory.Exists("/usr/lib/python3/dist-packages/aiosmtpd"))
        {
            throw new Xunit.Sdk.XunitException("aiosmtpd is not installed: run .ci/install-deps (apt-get install python3-aiosmtpd)");
        }
        int p = port ?? FreePort();
        maildir ??= Path.Combine(TempDir.Create("maildir"), "mail");
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var tlsArgs = tls switch
        {
            null => [],
            { Implicit: true } => new[] { "--smtpscert", tls.CertificatePem, "--smtpskey", tls.KeyPem },
            _ => new[] { "--tlscert", tls.CertificatePem, "--tlskey", tls.KeyPem },
        };
        var args = xoauth2 is { } x
            ? ["-c", OAuth2Server, "127.0.0.1", p.ToString(), maildir, (tls ?? throw new ArgumentException("XOAUTH2 needs STARTTLS", nameof(xoauth2))).CertificatePem, tls.KeyPem, x.User, x.Token]
            : login is { } l
            ? ["-c", LoginServer, "127.0.0.1", p.ToString(), maildir, (tls ?? throw new ArgumentException("a login needs STARTTLS", nameof(login))).CertificatePem, tls.KeyPem, l.User, l.Password]
            : new[] { "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{p}" }.Concat(tlsArgs).Concat(["-c", "aiosmtpd.handlers.Mailbox", maildir]);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var sink = new SmtpSink(process, p, maildir);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, p);
                return sink;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (SocketException)
            {
                await sink.DisposeAsync();
                throw new Xunit.Sdk.XunitException($"aiosmtpd did not listen on 127.0.0.1:{p} within 15 s");
            }
        }
    }

    /// <summary>Every message received so far (raw RFC 5322 text), oldest first.</summary>
    public List<string> Messages()
    {
        var files = new[] { "new", "cur" }.Select(d => Path.Combine(Maildir, d)).Where(Directory.Exists)
            .SelectMany(Directory.GetFiles).Select(f => new FileInfo(f)).OrderBy(f => f.LastWriteTimeUtc).ThenBy(f => f.Name);
        return files.Select(f => File.ReadAllText(f.FullName)).ToList();
    }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> messages arrived; returns them all.</summary>
    public async Task<List<string>> WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var messages = Messages();
            if (messages.Count >= count)
            {
                return messages;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"expected {count} message(s) within {timeout}, got {messages.Count}:\n" + string.Join("\n----\n", messages));
            }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync();
        _process.Dispose();
    }
}

/// <summary>
/// TLS for <see cref="SmtpSink"/>: PEM certificate and key files; <see cref="Implicit"/> = SMTPS (TLS from the first
/// byte, aiosmtpd's --smtpscert), otherwise STARTTLS offered and required (aiosmtpd's --tlscert).
/// </summary>
public sealed record SmtpTls(string CertificatePem, string KeyPem, bool Implicit);
