using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using PolicyModel.Decisions;

namespace FilterService.Identity;

/// <summary>What the proxy does about a request's credentials.</summary>
internal enum AuthOutcome
{
    /// <summary>No credentials and none needed: the address decides (network default role or a binding).</summary>
    Anonymous,
    /// <summary>Valid Basic credentials.</summary>
    Authenticated,
    /// <summary>Answer 407: credentials required (everywhere, or on this network), wrong, or not Basic.</summary>
    Challenge,
    /// <summary>Answer 429: too many failed logins as this user from this address, or from this address at all.</summary>
    Throttled,
}

/// <summary>The outcome of <see cref="ProxyAuthenticator.AuthenticateAsync"/>: the user when authenticated, the wait when throttled.</summary>
internal readonly record struct AuthResult(AuthOutcome Outcome, string? User = null, TimeSpan RetryAfter = default);

/// <summary>
/// Proxy-Authorization: Basic, checked against the user directory's password hashes, or for a name users.csv has no
/// hash for, by the school's directory when the policy has <c>identity.directory</c> (<see cref="LdapDirectory"/>). Wrong credentials are
/// challenged whatever the policy's mode (a typo should be noticed, not silently downgraded to the network's
/// default role). No credentials are challenged where the policy requires sign-in: everywhere with
/// <c>proxy_auth: required</c>, on the <c>required_on</c> networks with <c>optional</c> (issue 15 item 5).
/// Failures are throttled per client address and user name, under a higher per-address ceiling (<see cref="AuthThrottle"/>);
/// credentials already verified under this policy are let through before the throttle is asked, so a person who
/// signed in is not locked out by someone guessing from the same address (issue 15 item 16).
/// </summary>
internal sealed class ProxyAuthenticator
{
    private const int MaxCached = 10_000;
    private readonly AuthThrottle _throttle;

    // Password hashes are slow by design (PBKDF2), so successful checks are remembered per policy, keyed by a
    // SHA-256 of the header (never the password itself). A reload starts a fresh cache: a changed hash takes effect.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<PolicySnapshot, ConcurrentDictionary<string, string>> _verified = new();

    private readonly LdapDirectory? _directory;
    private readonly KerberosSignIn? _kerberos;

    /// <param name="directory">The school's directory, asked for names <c>users.csv</c> has no password for when the policy has <c>identity.directory</c>.</param>
    /// <param name="kerberos">Kerberos (Negotiate) sign-in, when the service has a keytab (<c>Identity:Kerberos:Keytab</c>).</param>
    public ProxyAuthenticator(AuthThrottle throttle, LdapDirectory? directory = null, KerberosSignIn? kerberos = null)
    {
        _throttle = throttle;
        _directory = directory;
        _kerberos = kerberos;
    }

    /// <summary>
    /// Checks the header. Everything but the password hash runs inline; the hash (slow by design) runs on the thread
    /// pool, because with inline completions the calling socket thread serves every other connection too.
    /// </summary>
    public ValueTask<AuthResult> AuthenticateAsync(PolicySnapshot policy, IPAddress client, string? header)
    {
        if (TryAuthenticateInline(policy, client, header, out var result, out var cache, out var key))
        {
            return new(result);
        }
        return new(VerifyOffThread(this, policy, client, header!, cache!, key!));

        // The closure is made here, only when a hash must run: captured in AuthenticateAsync itself it was allocated at
        // its entry, for every request.
        static Task<AuthResult> VerifyOffThread(ProxyAuthenticator self, PolicySnapshot policy, IPAddress client, string header,
            ConcurrentDictionary<string, string> cache, string key) =>
            Task.Run(() => self.Verify(policy, client, header, cache, key));
    }

    /// <summary>
    /// The outcome when it needs no password hash (no credentials, credentials ignored, throttled, or remembered);
    /// false when only the hash can tell. Changes nothing, so a caller may ask and then go the slow way.
    /// </summary>
    public bool TryAuthenticateInline(PolicySnapshot policy, IPAddress client, string? header, out AuthResult result) =>
        TryAuthenticateInline(policy, client, header, out result, out _, out _);

    /// <param name="cache">With <paramref name="key"/>, where a verified header is remembered, when the hash must run.</param>
    private bool TryAuthenticateInline(PolicySnapshot policy, IPAddress client, string? header, out AuthResult result,
        out ConcurrentDictionary<string, string>? cache, out string? key)
    {
        cache = null;
        key = null;
        if (string.IsNullOrEmpty(header))
        {
            bool challenge = policy.SignInRequired(client) && policy.Identify(client, null).User is null;
            result = new AuthResult(challenge ? AuthOutcome.Challenge : AuthOutcome.Anonymous);
            return true;
        }
        if (policy.ProxyAuth == ProxyAuthMode.Off)
        {
            // Credentials are ignored when the policy does not use them; bindings still identify the address.
            result = new AuthResult(AuthOutcome.Anonymous);
            return true;
        }
        if (_kerberos is not null && KerberosSignIn.IsNegotiate(header))
        {
            // A Kerberos token is good once (GSSAPI's replay cache): never cached; checked on the thread pool.
            if (_throttle.IsThrottled(client, "", out var wait))
            {
                result = new AuthResult(AuthOutcome.Throttled, RetryAfter: wait);
                return true;
            }
            result = default;
            return false;
        }
        cache = _verified.GetValue(policy, static _ => new());
        key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(header)));
        if (cache.TryGetValue(key, out var known))
        {
            result = new AuthResult(AuthOutcome.Authenticated, known);
            return true;
        }
        // A directory sign-in is remembered for the policy's cache_ttl only (a changed password or a disabled account
        // must take effect), under its own keyed hash; only a successful bind fills it.
        if (policy.Ldap is { } ldap && _directory is not null && _directory.TryCached(ldap, _directory.KeyOf(header), out var signedIn))
        {
            result = new AuthResult(AuthOutcome.Authenticated, signedIn);
            return true;
        }
        // Only a successful check fills the cache, and no check runs while throttled: asking the cache first
        // opens nothing to a guesser, and keeps signed-in people browsing behind an address someone is attacking.
        if (_throttle.IsThrottled(client, UserOf(header), out var retryAfter))
        {
            result = new AuthResult(AuthOutcome.Throttled, RetryAfter: retryAfter);
            return true;
        }
        result = default;
        return false;
    }

    /// <summary>The user name a header claims, or empty when it is not well-formed Basic (counted under "").</summary>
    private static string UserOf(string header) => TryParseBasic(header, out var user, out _) ? user : "";

    private AuthResult Verify(PolicySnapshot policy, IPAddress client, string header, ConcurrentDictionary<string, string>? cache, string? key)
    {
        if (_kerberos is not null && KerberosSignIn.IsNegotiate(header))
        {
            return VerifyKerberos(policy, client, header);
        }
        if (!TryParseBasic(header, out var name, out var password))
        {
            _throttle.RecordFailure(client, "");
            return new AuthResult(AuthOutcome.Challenge);
        }
        // users.csv first: a name with a password hash there is checked there; any other name goes to the directory.
        if (policy.Ldap is { } ldap && _directory is not null && policy.FindUser(name)?.Password is null)
        {
            return VerifyWithDirectory(policy, ldap, client, header, name, password);
        }
        // An unknown name costs the same PBKDF2 work as a known one (PolicySnapshot.VerifyPassword): timing tells nothing.
        if (!policy.VerifyPassword(name, password))
        {
            _throttle.RecordFailure(client, name);
            return new AuthResult(AuthOutcome.Challenge);
        }
        if (cache!.Count >= MaxCached)
        {
            cache.Clear();
        }
        cache[key!] = name;
        return new AuthResult(AuthOutcome.Authenticated, name);
    }

    /// <summary>
    /// A sign-in checked by the directory (blocking; on the thread pool). When the directory cannot be asked and no
    /// cached sign-in vouches for the credentials, <c>on_directory_down</c> decides: <c>refuse</c> answers 407;
    /// <c>cached_then_default</c> lets the request through unsigned-in, so the network's default role decides it, or
    /// answers 407 where the network has none: never a request decided with no role because the directory was down.
    /// </summary>
    private AuthResult VerifyWithDirectory(PolicySnapshot policy, PolicyModel.Decisions.DirectoryPolicy ldap, IPAddress client, string header,
        string name, string password)
    {
        switch (_directory!.SignIn(ldap, _directory.KeyOf(header), name, password))
        {
            case DirectorySignIn.Valid:
                return new AuthResult(AuthOutcome.Authenticated, name);
            case DirectorySignIn.Wrong:
                _throttle.RecordFailure(client, name);
                return new AuthResult(AuthOutcome.Challenge);
            default:
                bool defaultRole = ldap.OnDown == PolicyModel.Decisions.DirectoryDownMode.CachedThenDefault && !policy.Identify(client, null).Roles.IsEmpty;
                _directory.CountFallback(defaultRole);
                return new AuthResult(defaultRole ? AuthOutcome.Anonymous : AuthOutcome.Challenge);
        }
    }

    /// <summary>
    /// A Kerberos ticket: the principal (realm dropped) is the user, with roles from users.csv, else from the
    /// directory's groups (read now unless read within <c>cache_ttl</c>). A token that does not complete a Kerberos
    /// exchange is a failed login (407 offering Negotiate and Basic, so the browser can fall back to a password).
    /// </summary>
    private AuthResult VerifyKerberos(PolicySnapshot policy, IPAddress client, string header)
    {
        if (_kerberos!.Accept(header) is not { } name)
        {
            _throttle.RecordFailure(client, "");
            return new AuthResult(AuthOutcome.Challenge);
        }
        if (policy.FindUser(name) is null && policy.Ldap is { } ldap && _directory is not null)
        {
            _directory.ReadMember(ldap, name);
        }
        return new AuthResult(AuthOutcome.Authenticated, name);
    }

    /// <summary>Parses <c>Basic base64(user:password)</c>. The scheme is case-insensitive; the user may not be empty.</summary>
    internal static bool TryParseBasic(string header, out string user, out string password)
    {
        user = password = "";
        var value = header.AsSpan().Trim();
        if (value.Length < 7 || !value[..6].Equals("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var encoded = value[6..].Trim();
        if (encoded.Length > 1024)
        {
            return false;
        }
        Span<byte> ascii = stackalloc byte[encoded.Length];
        for (int i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] > 127)
            {
                return false;
            }
            ascii[i] = (byte)encoded[i];
        }
        Span<byte> decoded = stackalloc byte[Base64.GetMaxDecodedFromUtf8Length(ascii.Length)];
        if (Base64.DecodeFromUtf8(ascii, decoded, out _, out int written) != OperationStatus.Done)
        {
            return false;
        }
        decoded = decoded[..written];
        int colon = decoded.IndexOf((byte)':');
        if (colon <= 0)
        {
            return false;
        }
        try
        {
            var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
            user = strict.GetString(decoded[..colon]);
            password = strict.GetString(decoded[(colon + 1)..]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        return true;
    }
}
