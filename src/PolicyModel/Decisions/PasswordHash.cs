using System.Security.Cryptography;
using System.Text;

namespace PolicyModel.Decisions;

/// <summary>
/// A salted PBKDF2-HMAC-SHA256 password hash, stored as <c>pbkdf2-sha256$ITERATIONS$SALT_B64$HASH_B64</c>.
/// Plain passwords never appear in policy files.
/// </summary>
public sealed class PasswordHash
{
    public const string Scheme = "pbkdf2-sha256";
    public const int DefaultIterations = 210_000;
    private const int MinimumIterations = 10_000;

    private readonly byte[] _salt;
    private readonly byte[] _hash;

    private PasswordHash(int iterations, byte[] salt, byte[] hash)
    {
        Iterations = iterations;
        _salt = salt;
        _hash = hash;
    }

    public int Iterations { get; }

    /// <summary>Parses the stored form; returns null and a reason when it is not a valid hash.</summary>
    public static PasswordHash? TryParse(string text, out string? problem)
    {
        problem = null;
        var parts = text.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme)
        {
            problem = $"expected '{Scheme}$ITERATIONS$SALT$HASH'";
            return null;
        }

        if (!int.TryParse(parts[1], out var iterations) || iterations < MinimumIterations)
        {
            problem = $"iterations must be a number of at least {MinimumIterations}";
            return null;
        }

        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var hash = Convert.FromBase64String(parts[3]);
            if (salt.Length < 8 || hash.Length < 16)
            {
                problem = "salt or hash too short";
                return null;
            }

            return new PasswordHash(iterations, salt, hash);
        }
        catch (FormatException)
        {
            problem = "salt and hash must be base64";
            return null;
        }
    }

    public static string Create(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>
    /// A hash no password matches (random salt and digest), with <paramref name="iterations"/>: checking a name that has
    /// no hash against it costs what checking a real one does, so timing does not tell which names exist.
    /// </summary>
    internal static PasswordHash Decoy(int iterations) =>
        new(iterations, RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(32));

    /// <summary>Deliberately slow (PBKDF2); callers that verify per request should cache successes.</summary>
    public bool Verify(string password)
    {
        var candidate = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), _salt, Iterations, HashAlgorithmName.SHA256, _hash.Length);
        return CryptographicOperations.FixedTimeEquals(candidate, _hash);
    }
}
