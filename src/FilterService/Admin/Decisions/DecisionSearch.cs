using System.Globalization;
using Microsoft.Data.Sqlite;

namespace FilterService.Admin.Decisions;

/// <summary>
/// Searches the decision index (<see cref="DecisionIndexStore"/>), newest first, one page at a time.
/// </summary>
/// <remarks>
/// <para>
/// A query is driven by one index, chosen by the most selective filter present: user, then device address, then host
/// (a registrable domain such as <c>google.com</c> by the site column, which covers its subdomains in one range; any
/// other host, such as <c>mail.google.com</c>, exactly by the host column), then category, then action, else time. Each index starts with its filter and continues with time and id, so the
/// page is the first rows of one index range walked backwards from the page key, and the remaining filters are checked
/// on the index's trailing columns before a row is read. Where a filter means several values (a pseudonym
/// shared by accounts, or either action on the host, site and category indexes, which lead with the
/// action so that a rare action is never a long scan), each value is its own range, limited to a page, and the ranges
/// are merged (UNION ALL, then the page). No query counts or skips rows, so a page costs the same on the first day
/// and after ten million records (bench/decisions).
/// </para>
/// <para>
/// Pupils: a viewer who may not see pupils' names (every role but <c>dsl</c>, <see cref="ConsoleRoles.SeesPupilNames"/>)
/// can search by a pupil's pseudonym, never by the name: a user filter with a real account name finds only that
/// account's records made without a pupil role for them, so typing a name cannot tie it to a pseudonym.
/// </para>
/// </remarks>
internal sealed class DecisionSearch(DecisionIndexStore store, PupilNames names)
{
    private const int MaxArms = 64;
    private readonly object _pseudonymGate = new();
    private (long Users, Dictionary<string, List<long>> Map)? _pseudonyms;

    public DecisionPage Search(DecisionQuery query, bool seesPupilNames)
    {
        int pageSize = Math.Clamp(query.PageSize, 1, DecisionQuery.MaxPageSize);
        using var connection = store.Open(8);
        var where = new List<string>();
        var parameters = new List<(string, object)>();
        string? Param(object value)
        {
            var name = "$p" + parameters.Count.ToString(CultureInfo.InvariantCulture);
            parameters.Add((name, value));
            return name;
        }
        if (query.From is { } from)
        {
            where.Add("ts >= " + Param(from.ToUnixTimeMilliseconds()));
        }
        // One upper bound on the time, the tighter of until and the page key: SQLite walks an index range by one
        // bound per side, and a looser one chosen would make it scan the rows between them.
        long? untilMs = query.Until?.ToUnixTimeMilliseconds();
        if (query.Before is { } key && !(untilMs <= key.TimeMs))
        {
            where.Add($"ts <= {Param(key.TimeMs)} AND (ts < {Param(key.TimeMs)} OR id < {Param(key.Id)})");
        }
        else if (untilMs is { } until)
        {
            where.Add("ts < " + Param(until));
        }

        // Resolve each filter to term ids; a filter that matches nothing means no results.
        List<long>? users = null, clients = null, hosts = null, sites = null, categories = null;
        string? rolesFilter = null;
        if (Text(query.User) is { } user)
        {
            var pupilRoles = PupilRoleSets(connection);
            if (user.StartsWith("pupil-", StringComparison.Ordinal) && Pseudonyms(connection).TryGetValue(user, out var ids))
            {
                users = ids;
                rolesFilter = pupilRoles.Count == 0 ? "0" : $"roles IN ({string.Join(',', pupilRoles)})";
            }
            else
            {
                users = Terms(connection, TermKind.User, user);
                if (!seesPupilNames && pupilRoles.Count > 0)
                {
                    rolesFilter = $"(roles IS NULL OR roles NOT IN ({string.Join(',', pupilRoles)}))";
                }
            }
        }
        if (Text(query.Client) is { } client)
        {
            clients = Terms(connection, TermKind.Client, client);
        }
        if (Text(query.Host)?.TrimEnd('.').ToLowerInvariant() is { Length: > 0 } host)
        {
            // A registrable domain (google.com) is its site column: one range for it and every subdomain.
            if (AuditLineParser.SiteOf(host) == host)
            {
                sites = Terms(connection, TermKind.Host, host);
            }
            else
            {
                hosts = Terms(connection, TermKind.Host, host);
            }
        }
        if (Text(query.Category) is { } category)
        {
            categories = Terms(connection, TermKind.Category, category);
        }
        if (users is [] || clients is [] || hosts is [] || sites is [] || categories is [])
        {
            return new DecisionPage([], null);
        }
        int? action = query.Blocked is { } b ? (b ? 1 : 0) : null;

        // The driving index and the values it is walked for; the other filters become residual terms.
        string index, column;
        List<long>? lead;
        if (users is not null) (index, column, lead, users) = ("ix_user", "user", users, null);
        else if (clients is not null) (index, column, lead, clients) = ("ix_client", "client", clients, null);
        else if (hosts is not null) (index, column, lead, hosts) = ("ix_host", "host", hosts, null);
        else if (sites is not null) (index, column, lead, sites) = ("ix_site", "site", sites, null);
        else if (categories is not null) (index, column, lead, categories) = ("ix_category", "category", categories, null);
        else if (action is not null) (index, column, lead) = ("ix_action", "action", [action.Value]);
        else (index, column, lead) = ("ix_time", "", null);
        bool actionLeads = index is "ix_host" or "ix_site" or "ix_category";
        int?[] actions = actionLeads ? (action is null ? [0, 1] : [action]) : [null];
        if (!actionLeads && action is not null && index != "ix_action")
        {
            where.Add("action = " + action.Value.ToString(CultureInfo.InvariantCulture));
        }
        AddIn(where, "client", clients);
        AddIn(where, "host", hosts);
        AddIn(where, "site", sites);
        AddIn(where, "category", categories);
        AddIn(where, "user", users);
        if (rolesFilter is not null)
        {
            where.Add(rolesFilter);
        }

        var arms = new List<string>();
        string limit = pageSize + 1 is var n ? n.ToString(CultureInfo.InvariantCulture) : "";
        IEnumerable<long?> values = lead is null ? [null] : lead.Count <= MaxArms ? lead.Select(v => (long?)v) : [null];
        foreach (var value in values)
        {
            foreach (var a in actions)
            {
                var terms = new List<string>(where);
                if (value is { } v)
                {
                    terms.Insert(0, $"{column} = {v.ToString(CultureInfo.InvariantCulture)}");
                }
                else if (lead is not null)
                {
                    terms.Insert(0, $"{column} IN ({string.Join(',', lead)})");
                }
                if (a is { } av)
                {
                    terms.Insert(1, "action = " + av.ToString(CultureInfo.InvariantCulture));
                }
                var indexed = value is null && lead is not null ? "" : $" INDEXED BY {index}";
                arms.Add($"SELECT id, ts FROM decisions{indexed}{(terms.Count > 0 ? " WHERE " + string.Join(" AND ", terms) : "")} ORDER BY ts DESC, id DESC LIMIT {limit}");
            }
        }
        string sql = arms.Count == 1
            ? arms[0]
            : string.Join(" UNION ALL ", arms.Select(a => $"SELECT id, ts FROM ({a})")) + $" ORDER BY ts DESC, id DESC LIMIT {limit}";

        var keys = new List<long>(pageSize + 1);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                keys.Add(reader.GetInt64(0));
            }
        }
        var rows = Rows(connection, keys.Take(pageSize).ToList());
        return new DecisionPage(rows, keys.Count > pageSize && rows.Count > 0 ? new PageKey(rows[^1].At.ToUnixTimeMilliseconds(), rows[^1].Id) : null);
    }

    private static void AddIn(List<string> where, string column, List<long>? ids)
    {
        if (ids is not null)
        {
            where.Add(ids.Count == 1 ? $"{column} = {ids[0].ToString(CultureInfo.InvariantCulture)}" : $"{column} IN ({string.Join(',', ids)})");
        }
    }

    private static string? Text(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static List<long> Terms(SqliteConnection connection, TermKind kind, string text)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM terms WHERE kind = $k AND text = $t";
        command.Parameters.AddWithValue("$k", (int)kind);
        command.Parameters.AddWithValue("$t", kind is TermKind.User or TermKind.Host ? text.ToLowerInvariant() : text);
        return command.ExecuteScalar() is long id ? [id] : [];
    }

    /// <summary>The ids of the role sets (comma-joined roles of a record) that make a record a pupil's.</summary>
    private List<long> PupilRoleSets(SqliteConnection connection)
    {
        var ids = new List<long>();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, text FROM terms WHERE kind = $k";
        command.Parameters.AddWithValue("$k", (int)TermKind.Roles);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (names.IsPupil(reader.GetString(1).Split(',')))
            {
                ids.Add(reader.GetInt64(0));
            }
        }
        return ids;
    }

    /// <summary>Pseudonym to user ids, recomputed when accounts were added to the index.</summary>
    private Dictionary<string, List<long>> Pseudonyms(SqliteConnection connection)
    {
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM terms WHERE kind = $k";
        count.Parameters.AddWithValue("$k", (int)TermKind.User);
        long users = Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        lock (_pseudonymGate)
        {
            if (_pseudonyms is { } cached && cached.Users == users)
            {
                return cached.Map;
            }
        }
        var map = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, text FROM terms WHERE kind = $k";
        command.Parameters.AddWithValue("$k", (int)TermKind.User);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var pseudonym = names.Pseudonym(reader.GetString(1));
                if (!map.TryGetValue(pseudonym, out var list))
                {
                    map[pseudonym] = list = [];
                }
                list.Add(reader.GetInt64(0));
            }
        }
        lock (_pseudonymGate)
        {
            _pseudonyms = (users, map);
        }
        return map;
    }

    private static List<DecisionRow> Rows(SqliteConnection connection, List<long> ids)
    {
        if (ids.Count == 0)
        {
            return [];
        }
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT d.id, d.ts, u.text, n.text, r.text, c.text, w.text, m.text, h.text, d.target, d.action, ru.text, ca.text, d.status, d.ref
            FROM decisions d
            LEFT JOIN terms u ON u.id = d.user LEFT JOIN terms n ON n.id = d.name LEFT JOIN terms r ON r.id = d.roles
            LEFT JOIN terms c ON c.id = d.client LEFT JOIN terms w ON w.id = d.network LEFT JOIN terms m ON m.id = d.method
            LEFT JOIN terms h ON h.id = d.host LEFT JOIN terms ru ON ru.id = d.rule LEFT JOIN terms ca ON ca.id = d.category
            WHERE d.id IN ({string.Join(',', ids)})
            """;
        var rows = new List<DecisionRow>(ids.Count);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            string? S(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            rows.Add(new DecisionRow(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), S(2), S(3),
                S(4)?.Split(',') ?? [], S(5) ?? "", S(6), S(7) ?? "", S(8) ?? "", reader.GetString(9), reader.GetInt64(10) == 1, S(11) ?? "",
                S(12), reader.GetInt32(13), S(14)));
        }
        rows.Sort((a, b) => b.At != a.At ? b.At.CompareTo(a.At) : b.Id.CompareTo(a.Id));
        return rows;
    }
}
