using System.Collections.Frozen;

namespace PolicyModel.Schedules;

/// <summary>
/// Per-user weekly periods from a timetable CSV. User names compare case-insensitively (ordinal), as
/// directory logins do. A user not in the timetable has no periods. Immutable and thread-safe.
/// </summary>
internal sealed class Timetable
{
    private readonly FrozenDictionary<string, WeekTable> _users;

    public Timetable(IDictionary<string, WeekTable> users) =>
        _users = users.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    public int UserCount => _users.Count;

    public WeekTable? For(string? user) => user is not null && _users.TryGetValue(user, out var table) ? table : null;
}
