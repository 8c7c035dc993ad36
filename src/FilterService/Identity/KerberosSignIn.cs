using System.Net.Security;

namespace FilterService.Identity;

/// <summary>
/// Kerberos sign-in (<c>Proxy-Authorization: Negotiate</c>): a pupil on a domain-joined PC is identified with no
/// prompt. The token is accepted with the BCL's <see cref="NegotiateAuthentication"/> (GSSAPI on Linux, SSPI on
/// Windows) against the keytab of <c>HTTP/&lt;proxy name&gt;</c> (<c>Identity:Kerberos:Keytab</c>). Only a complete,
/// single-leg Kerberos exchange signs in: NTLM's multi-leg handshake is refused, so a client without a ticket falls
/// back to Basic (the 407 offers both). Tokens are never cached: each is checked (GSSAPI's replay cache refuses a
/// replayed one). Thread-safe: each check has its own context.
/// </summary>
internal sealed partial class KerberosSignIn
{
    private readonly string _realm;

    private KerberosSignIn(string realm) => _realm = realm;

    /// <summary>
    /// The <c>Identity:Kerberos</c> section, or null when no keytab is configured (Negotiate is then not offered).
    /// Points GSSAPI at the keytab (<c>KRB5_KTNAME</c>) before any context is made.
    /// </summary>
    public static KerberosSignIn? Bind(IConfiguration configuration, List<string> errors)
    {
        var section = configuration.GetSection("Identity:Kerberos");
        if (section["Keytab"] is not { Length: > 0 } keytab)
        {
            return null;
        }
        if (!File.Exists(keytab))
        {
            errors.Add($"Identity:Kerberos:Keytab: file '{keytab}' does not exist");
            return null;
        }
        // Required: without it a principal of any realm the KDC trusts (alice@OTHER.SCHOOL) would be our alice.
        if (section["Realm"] is not { Length: > 0 })
        {
            errors.Add("Identity:Kerberos:Realm: required with Identity:Kerberos:Keytab: the realm whose principals are this school's users (SCHOOL.INTERNAL)");
            return null;
        }
        if (!OperatingSystem.IsWindows())
        {
            // GSSAPI reads the process's real environment, which Environment.SetEnvironmentVariable does not change on Unix.
            if (SetEnv("KRB5_KTNAME", "FILE:" + Path.GetFullPath(keytab), 1) != 0)
            {
                errors.Add($"Identity:Kerberos:Keytab: cannot point GSSAPI at '{keytab}' (setenv failed)");
                return null;
            }
        }
        return new KerberosSignIn(section["Realm"]!);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "setenv", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>Whether <paramref name="header"/> is a Negotiate credential (scheme case-insensitive).</summary>
    public static bool IsNegotiate(string header) =>
        header.AsSpan().TrimStart().StartsWith("Negotiate ", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The signed-in user's name (the principal without its realm, lower-cased as directories compare), or null when
    /// the token is malformed, not Kerberos, of a principal outside <c>Identity:Kerberos:Realm</c>, or refused.
    /// Blocking (GSSAPI may read the keytab): run it on the thread pool.
    /// </summary>
    public string? Accept(string header)
    {
        byte[] token;
        try
        {
            token = Convert.FromBase64String(header.AsSpan().TrimStart()["Negotiate ".Length..].Trim().ToString());
        }
        catch (FormatException)
        {
            return null;
        }
        string? principal;
        try
        {
            using var context = new NegotiateAuthentication(new NegotiateAuthenticationServerOptions { Package = "Negotiate" });
            context.GetOutgoingBlob(token, out var status);
            principal = status == NegotiateAuthenticationStatusCode.Completed && context.IsAuthenticated
                && string.Equals(context.Package, "Kerberos", StringComparison.OrdinalIgnoreCase) ? context.RemoteIdentity.Name : null;
        }
        catch (Exception ex) when (ex is DllNotFoundException or PlatformNotSupportedException or TypeInitializationException or EntryPointNotFoundException)
        {
            // No GSSAPI library (Debian: libgssapi-krb5-2): nobody signs in by ticket; Basic still works.
            return null;
        }
        if (principal is null)
        {
            return null;
        }
        var at = principal.LastIndexOf('@');
        var name = at < 0 ? principal : principal[..at];
        if (at < 0 || !string.Equals(principal[(at + 1)..], _realm, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return LdapNames.IsUserName(name) ? name.ToLowerInvariant() : null;
    }
}
