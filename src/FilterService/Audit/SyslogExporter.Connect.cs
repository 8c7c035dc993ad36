using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;

namespace FilterService.Audit;

// Connecting to the collector: TCP, or TLS checked against the system's CAs or Audit:Syslog:CaFile (with a client certificate for mTLS), and how a failure is described.
internal sealed partial class SyslogExporter
{
    private async Task<Stream> ConnectAsync(CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(ConnectTimeout);
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(_options.Host!, _options.EffectivePort, timeout.Token);
            if (_options.Transport == SyslogTransport.Tcp)
            {
                return client.GetStream();
            }
            var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            try
            {
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = _options.ServerName ?? _options.Host,
                    RemoteCertificateValidationCallback = _trusted is null ? null : ValidateAgainstCaFile,
                    ClientCertificates = _clientCertificate,
                }, timeout.Token);
            }
            catch (Exception)
            {
                await tls.DisposeAsync();
                throw;
            }
            return tls;
        }
        catch (Exception)
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Only the CAs of <c>Audit:Syslog:CaFile</c> are trusted, and the name must match.</summary>
    private bool ValidateAgainstCaFile(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_trusted!);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        }
        return custom.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }

    private string Describe(Exception ex) => ex switch
    {
        AuthenticationException a => $"TLS with {Target} failed: {a.Message} (the certificate must chain to "
            + (_options.CaFile is null ? "the system's trusted CAs" : $"a CA in {_options.CaFile}") + $" and name {_options.ServerName ?? _options.Host})",
        OperationCanceledException => $"no connection to {Target} within {ConnectTimeout.TotalSeconds:0} s",
        _ => ex.Message,
    };
}
