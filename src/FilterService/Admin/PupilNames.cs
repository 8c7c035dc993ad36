using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;

namespace FilterService.Admin;

/// <summary>
/// How a person is shown in the console (issues 18 and 19): a pupil's name (a user holding one of
/// <c>Console:PupilRoles</c>, default <c>pupil</c>) only to the <c>dsl</c> role; to everyone else a stable pseudonym
/// (<c>pupil-7c1e9a2b</c>, an HMAC of the account name under a key kept in the console's data directory) so the ICT
/// manager and the auditor can still follow one pupil across pages without learning who it is. Staff and anonymous
/// requests are shown as they are. Thread-safe.
/// </summary>
internal sealed class PupilNames(IReadOnlyCollection<string> pupilRoles, byte[] key)
{
    /// <summary>Whether a request or incident with these roles is a pupil's.</summary>
    public bool IsPupil(IEnumerable<string> roles) => roles.Any(r => pupilRoles.Contains(r, StringComparer.Ordinal));

    /// <summary>The name to show <paramref name="viewer"/>: <paramref name="displayName"/> (or <paramref name="user"/>) or the pseudonym.</summary>
    public string? Show(string? user, string? displayName, IEnumerable<string> roles, ClaimsPrincipal viewer)
    {
        if (user is null || !IsPupil(roles) || ConsoleRoles.SeesPupilNames(viewer))
        {
            return displayName ?? user;
        }
        return Pseudonym(user);
    }

    /// <summary>The pseudonym of <paramref name="user"/>: the same on every page and across restarts.</summary>
    public string Pseudonym(string user)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(user.ToLowerInvariant()), mac);
        return "pupil-" + Convert.ToHexStringLower(mac[..4]);
    }

    /// <summary>Reads the key from <paramref name="path"/>, creating it (32 random bytes, owner-only) the first time.</summary>
    public static byte[] LoadOrCreateKey(string path)
    {
        if (File.Exists(path))
        {
            return File.ReadAllBytes(path);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var key = RandomNumberGenerator.GetBytes(32);
        var temp = path + ".tmp";
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, create))
        {
            stream.Write(key);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: false);
        return File.ReadAllBytes(path);
    }
}
