using FilterService.Admin.History;

namespace FilterService.Tests.Admin.Editing;

/// <summary>
/// The change history the editing tests record into. Until the SQLite store (h-history) is on main this is a list in
/// memory; it is replaced by the real store when it lands.
/// </summary>
internal sealed class TestHistory : IChangeHistory
{
    private readonly List<ChangeEntry> _entries = [];

    public static IChangeHistory Create() => new TestHistory();

    public Task<ChangeEntry> RecordAsync(PolicyChange change, DateTimeOffset at, string policyVersion, CancellationToken cancellationToken = default)
    {
        lock (_entries)
        {
            var entry = new ChangeEntry(_entries.Count + 1, at, change, policyVersion, "", "");
            _entries.Add(entry);
            return Task.FromResult(entry);
        }
    }

    public Task<ChangeEntry?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        lock (_entries)
        {
            return Task.FromResult(_entries.FirstOrDefault(e => e.Id == id));
        }
    }

    public Task<IReadOnlyList<ChangeEntry>> ListAsync(DateTimeOffset from, DateTimeOffset until, int limit, CancellationToken cancellationToken = default)
    {
        lock (_entries)
        {
            return Task.FromResult<IReadOnlyList<ChangeEntry>>(_entries.Where(e => e.At >= from && e.At < until).Reverse().Take(limit).ToList());
        }
    }
}
