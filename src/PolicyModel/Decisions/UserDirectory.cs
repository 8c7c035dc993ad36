using System.Collections.Frozen;
using System.Collections.Immutable;
using PolicyModel.Diagnostics;

namespace PolicyModel.Decisions;

/// <summary>One person in the user directory.</summary>
public sealed record UserRecord(string UserName, string DisplayName, ImmutableArray<string> Roles, PasswordHash? Password);

/// <summary>
/// The user directory (<c>users.csv</c>: <c>username,display_name,roles,password_hash</c>, roles separated by <c>;</c>).
/// User names are case-insensitive. Immutable but for <see cref="IterationsRun"/>, a thread-safe counter.
/// </summary>
public sealed class UserDirectory
{
    public static UserDirectory Empty { get; } = new(FrozenDictionary<string, UserRecord>.Empty);

    private readonly FrozenDictionary<string, UserRecord> _users;

    /// <summary>Checked instead when a name has no hash: the directory's most common iteration count (issue 15 item 16).</summary>
    private readonly PasswordHash _decoy;

    private long _iterationsRun;

    private UserDirectory(FrozenDictionary<string, UserRecord> users)
    {
        _users = users;
        var iterations = users.Values.Where(u => u.Password is not null).GroupBy(u => u.Password!.Iterations)
            .OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).Select(g => g.Key).FirstOrDefault();
        _decoy = PasswordHash.Decoy(iterations > 0 ? iterations : PasswordHash.DefaultIterations);
    }

    public int Count => _users.Count;

    /// <summary>PBKDF2 iterations run by <see cref="Verify"/> so far (tests show an unknown name costs what a known one does).</summary>
    public long IterationsRun => Interlocked.Read(ref _iterationsRun);

    /// <summary>
    /// Whether <paramref name="password"/> is <paramref name="userName"/>'s. A name that is unknown or has no password
    /// is checked against the decoy hash and refused, so the work (and the time) is the same whether the name exists.
    /// </summary>
    public bool Verify(string userName, string password)
    {
        var known = Find(userName)?.Password;
        var hash = known ?? _decoy;
        Interlocked.Add(ref _iterationsRun, hash.Iterations);
        return hash.Verify(password) && known is not null;
    }

    public IEnumerable<UserRecord> Users => _users.Values;

    public UserRecord? Find(string userName) => _users.GetValueOrDefault(userName);

    internal static UserDirectory Load(string text, string displayPath, ISet<string> knownRoles, DiagnosticBag diagnostics)
    {
        var users = new Dictionary<string, UserRecord>(StringComparer.OrdinalIgnoreCase);
        var lines = text.Split(["\r\n", "\r", "\n"], StringSplitOptions.None);
        var lineNumber = 0;
        var headerSeen = false;
        foreach (var raw in lines)
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            var fields = line.Split(',');
            if (!headerSeen)
            {
                headerSeen = true;
                if (!line.Replace(" ", string.Empty).StartsWith("username,display_name,roles", StringComparison.OrdinalIgnoreCase))
                {
                    diagnostics.Error(new SourceLocation(displayPath, lineNumber, 1), Messages.UsersFileHeader);
                    return Empty;
                }

                continue;
            }

            if (fields.Length is < 3 or > 4)
            {
                diagnostics.Error(new SourceLocation(displayPath, lineNumber, 1), Messages.UsersFileFieldCount, fields.Length);
                continue;
            }

            var name = fields[0].Trim();
            if (name.Length == 0)
            {
                diagnostics.Error(new SourceLocation(displayPath, lineNumber, 1), Messages.UsersFileEmptyUserName);
                continue;
            }

            if (users.ContainsKey(name))
            {
                diagnostics.Error(new SourceLocation(displayPath, lineNumber, 1), Messages.DuplicateUser, name);
                continue;
            }

            var rolesColumn = fields[0].Length + fields[1].Length + 3;
            var roles = ImmutableArray.CreateBuilder<string>();
            foreach (var role in fields[2].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!knownRoles.Contains(role))
                {
                    diagnostics.Error(new SourceLocation(displayPath, lineNumber, rolesColumn), Messages.UnknownRole, role, Suggestions.DidYouMean(role, knownRoles));
                    continue;
                }

                roles.Add(role);
            }

            PasswordHash? hash = null;
            var hashText = fields.Length == 4 ? fields[3].Trim() : string.Empty;
            if (hashText.Length > 0)
            {
                hash = PasswordHash.TryParse(hashText, out var problem);
                if (hash is null)
                {
                    var column = fields[0].Length + fields[1].Length + fields[2].Length + 4;
                    diagnostics.Error(new SourceLocation(displayPath, lineNumber, column), Messages.BadPasswordHash, name, problem);
                }
            }

            users[name] = new UserRecord(name, fields[1].Trim(), roles.ToImmutable(), hash);
        }

        return new UserDirectory(users.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase));
    }
}
