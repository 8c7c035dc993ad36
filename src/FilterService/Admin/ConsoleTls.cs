using System.Security.Cryptography.X509Certificates;
using FilterService.Settings;

namespace FilterService.Admin;

/// <summary>Optional HTTPS on the admin listeners (<c>Admin:Certificate</c> and <c>Admin:CertificateKey</c>, PEM files).</summary>
internal static class ConsoleTls
{
    /// <summary>The certificate with its key, null when not configured; a problem (unreadable, no key, expired) in <paramref name="problem"/>.</summary>
    public static X509Certificate2? Load(AdminOptions admin, string contentRoot, TimeProvider time, out string? problem)
    {
        problem = null;
        if (admin.Certificate is not { } certificate || admin.CertificateKey is not { } key)
        {
            return null;
        }
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(Path.GetFullPath(certificate, contentRoot), Path.GetFullPath(key, contentRoot));
            // Re-imported as PKCS#12: SslStream on Linux wants a key it can export to OpenSSL, not an ephemeral one.
            var loaded = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            if (loaded.NotAfter.ToUniversalTime() < time.GetUtcNow().UtcDateTime)
            {
                problem = $"Admin:Certificate: '{certificate}' expired on {loaded.NotAfter:u}";
            }
            return loaded;
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
        {
            problem = $"Admin:Certificate/CertificateKey: {ex.Message}";
            return null;
        }
    }
}
