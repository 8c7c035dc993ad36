using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FilterService.Proxy;

/// <summary>One page the proxy serves itself on an origin-form request (<c>GET /ca.crt</c>).</summary>
internal sealed record ProxyPage(string Rule, string ContentType, byte[] Body);

/// <summary>
/// The proxy's own pages, answered on origin-form requests (<c>http://proxy:3128/ca.crt</c>) from the policy's clients
/// only; anything else origin-form is refused as before (400 <c>not-a-proxy-request</c>). One switch on the path: a new
/// page is one more case. Immutable after construction; thread-safe.
/// <list type="bullet">
/// <item><c>/ca.crt</c>: the inspection CA's certificate, DER, <c>application/x-x509-ca-cert</c>: the form Windows,
/// iOS, Android and ChromeOS import from a browser download without conversion (only when a CA is configured).</item>
/// <item><c>/ca</c>: a short help page: what the certificate is and how to trust it on each platform.</item>
/// </list>
/// </summary>
internal sealed class ProxyPages
{
    private readonly ProxyPage? _caCertificate;
    private readonly ProxyPage? _caHelp;

    public ProxyPages(X509Certificate2? ca)
    {
        if (ca is null)
        {
            return;
        }
        _caCertificate = new ProxyPage("proxy-ca-certificate", "application/x-x509-ca-cert", ca.RawData);
        _caHelp = new ProxyPage("proxy-ca-help", "text/html; charset=utf-8", Encoding.UTF8.GetBytes(CaHelp(ca)));
    }

    /// <summary>The page for an origin-form <paramref name="rawTarget"/> (query ignored), or null: refused as before.</summary>
    public ProxyPage? Find(string rawTarget)
    {
        int q = rawTarget.IndexOf('?');
        var path = q < 0 ? rawTarget : rawTarget[..q];
        return path switch
        {
            "/ca.crt" => _caCertificate,
            "/ca" => _caHelp,
            _ => null,
        };
    }

    private static string CaHelp(X509Certificate2 ca)
    {
        string name = WebUtility.HtmlEncode(ca.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        string fingerprint = WebUtility.HtmlEncode(string.Join(':', Convert.ToHexString(ca.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c))));
        return $$"""
            <!DOCTYPE html>
            <html lang="en-GB"><head><meta charset="utf-8"><title>The school web filter's certificate</title>
            <meta name="viewport" content="width=device-width">
            <style>body{font-family:system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em;color:#222}code{background:#eee;padding:0 .3em;word-break:break-all}</style></head><body>
            <h1>The school web filter's certificate</h1>
            <p>The school's web filter shows its block pages on secure (https) sites, and checks the pages of some sites,
            with certificates signed by <strong>{{name}}</strong>. Devices that trust this certificate see those pages;
            others see a security warning instead. It cannot be used for anything outside the school's filter.</p>
            <p><a href="/ca.crt">Download the certificate (ca.crt)</a>. SHA-256 fingerprint: <code>{{fingerprint}}</code>:
            check it matches the one your ICT team published before you trust it.</p>
            <h2>Installing it</h2>
            <p>School-managed devices get it from the ICT team (group policy, Intune, Google Admin, a profile); these steps are for one device.</p>
            <dl>
            <dt>Windows</dt><dd>Open <code>ca.crt</code>, <em>Install Certificate</em>, <em>Local Machine</em>, <em>Place all certificates in the following store</em>: <em>Trusted Root Certification Authorities</em>.</dd>
            <dt>macOS</dt><dd>Open <code>ca.crt</code> (Keychain Access adds it to the System keychain), double-click it, <em>Trust</em>, <em>When using this certificate: Always Trust</em>.</dd>
            <dt>ChromeOS</dt><dd>Settings, <em>Privacy and security</em>, <em>Security</em>, <em>Manage certificates</em>, <em>Authorities</em>, <em>Import</em>, tick <em>Trust this certificate for identifying websites</em>.</dd>
            <dt>iPhone and iPad</dt><dd>Open this page in Safari, download the certificate, then Settings, <em>Profile Downloaded</em>, <em>Install</em>; then <em>General</em>, <em>About</em>, <em>Certificate Trust Settings</em> and turn it on.</dd>
            <dt>Linux (Chromium, Chrome)</dt><dd><code>certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n school-filter -i ca.crt</code> (package libnss3-tools).</dd>
            <dt>Firefox</dt><dd>Settings, <em>Privacy &amp; Security</em>, <em>Certificates</em>, <em>View Certificates</em>, <em>Authorities</em>, <em>Import</em>, <em>Trust this CA to identify websites</em>.</dd>
            </dl>
            </body></html>

            """;
    }
}
