using PolicyModel.Decisions;

namespace FilterService.Admin.Accounts;

/// <summary>
/// Admin passwords: the policy's salted PBKDF2-HMAC-SHA256 (<see cref="PasswordHash"/>: a 16-byte random salt, the
/// iteration count stored with the hash, compared in constant time) at OWASP's 600,000 iterations for SHA-256.
/// </summary>
internal static class AdminPassword
{
    public const int Iterations = 600_000;

    private static readonly PasswordHash s_decoy = PasswordHash.Decoy(Iterations);

    /// <summary>The stored form of <paramref name="password"/> (<c>pbkdf2-sha256$600000$SALT$HASH</c>), with a fresh salt.</summary>
    public static string Hash(string password) => PasswordHash.Create(password, Iterations);

    /// <summary>
    /// Whether <paramref name="password"/> matches <paramref name="stored"/>; false for a malformed stored form. With no
    /// stored hash (an unknown name) a decoy is checked, so the time taken does not tell which names exist.
    /// </summary>
    public static bool Verify(string password, string? stored)
    {
        var hash = stored is null ? null : PasswordHash.TryParse(stored, out _);
        return (hash ?? s_decoy).Verify(password) && hash is not null;
    }

    /// <summary>Why <paramref name="password"/> is not acceptable for an admin account, or null.</summary>
    public static string? Weakness(string password) =>
        password.Length < 12 ? "the password must have at least 12 characters"
        : password.Length > 1024 ? "the password must have at most 1024 characters"
        : null;
}
