using PolicyModel.Decisions;

namespace FilterService.Notifications;

/// <summary>
/// Noise control. The first incident for a user, category and host opens a window of <c>Alerts:FoldWindow</c>
/// (half-open: [first, first + window)); it is an <see cref="IncidentKind.Alert"/> and goes out at once (high) or in
/// the next digest (low, medium). Later incidents in the window are <see cref="IncidentKind.Repeat"/>s, recorded but
/// not sent. When the window closes with repeats, one <see cref="IncidentKind.Summary"/> ("N further attempts") is
/// due; its id is the first incident's id plus <c>-more</c>, so rebuilding after a restart cannot make two.
/// Not thread-safe: callers lock.
/// </summary>
internal sealed class Folding
{
    private readonly TimeSpan _window;
    private readonly bool _digest;
    private readonly Dictionary<string, Window> _open = new(StringComparer.Ordinal);
    private readonly List<Window> _closed = new();

    public Folding(TimeSpan window, TimeSpan digestInterval)
    {
        _window = window;
        _digest = digestInterval > TimeSpan.Zero;
    }

    /// <summary>Sets <see cref="Incident.Kind"/>, <see cref="Incident.FoldOf"/> and <see cref="Incident.Digest"/> for a new incident.</summary>
    public Incident Classify(Incident candidate)
    {
        var key = candidate.FoldKey;
        if (_open.TryGetValue(key, out var w))
        {
            if (candidate.At < w.First.At + _window)
            {
                w.Repeats++;
                if (candidate.At > w.LastAt)
                {
                    w.LastAt = candidate.At;
                }
                return candidate with { Kind = IncidentKind.Repeat, FoldOf = w.First.Id, Digest = false };
            }
            _open.Remove(key);
            if (w.Repeats > 0)
            {
                _closed.Add(w);
            }
        }
        var first = candidate with { Kind = IncidentKind.Alert, FoldOf = null, Digest = _digest && candidate.Severity < AlertSeverity.High };
        if (_window > TimeSpan.Zero)
        {
            _open[key] = new Window(first);
        }
        return first;
    }

    /// <summary>Closes the windows that ended at or before <paramref name="now"/>; returns the summaries now due.</summary>
    public List<Incident> CloseDue(DateTimeOffset now)
    {
        foreach (var (key, w) in _open.Where(p => p.Value.First.At + _window <= now).ToList())
        {
            _open.Remove(key);
            if (w.Repeats > 0)
            {
                _closed.Add(w);
            }
        }
        var due = _closed.Select(Summary).ToList();
        _closed.Clear();
        return due;
    }

    /// <summary>Whether the incident still matters to an open window (the first, or one of its repeats).</summary>
    public bool IsInOpenWindow(Incident incident)
    {
        var id = incident.Kind == IncidentKind.Repeat ? incident.FoldOf : incident.Id;
        return _open.Values.Any(w => w.First.Id == id) || _closed.Any(w => w.First.Id == id);
    }

    /// <summary>Rebuilds the windows from the outbox after a restart (incidents oldest first).</summary>
    public void Restore(IEnumerable<Incident> incidents, DateTimeOffset now)
    {
        var byFirst = new Dictionary<string, Window>(StringComparer.Ordinal);
        var summarised = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in incidents)
        {
            switch (i.Kind)
            {
                case IncidentKind.Alert:
                    byFirst[i.Id] = new Window(i);
                    break;
                case IncidentKind.Repeat when i.FoldOf is not null && byFirst.TryGetValue(i.FoldOf, out var w):
                    w.Repeats++;
                    if (i.At > w.LastAt)
                    {
                        w.LastAt = i.At;
                    }
                    break;
                case IncidentKind.Summary when i.FoldOf is not null:
                    summarised.Add(i.FoldOf);
                    break;
            }
        }
        foreach (var w in byFirst.Values.Where(w => !summarised.Contains(w.First.Id)).OrderBy(w => w.First.At))
        {
            var key = w.First.FoldKey;
            if (_window > TimeSpan.Zero && w.First.At + _window > now)
            {
                if (_open.Remove(key, out var older) && older.Repeats > 0)
                {
                    _closed.Add(older);
                }
                _open[key] = w;
            }
            else if (w.Repeats > 0)
            {
                _closed.Add(w);
            }
        }
    }

    private static Incident Summary(Window w) => w.First with
    {
        Id = w.First.Id + "-more",
        Kind = IncidentKind.Summary,
        FoldOf = w.First.Id,
        Count = w.Repeats,
        LastAt = w.LastAt,
    };

    private sealed class Window(Incident first)
    {
        public Incident First { get; } = first;
        public int Repeats { get; set; }
        public DateTimeOffset LastAt { get; set; } = first.At;
    }
}
