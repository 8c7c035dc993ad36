using FilterService.Admin;
using FilterService.Admin.Decisions;

namespace FilterService.Benchmarks;

/// <summary>
/// The searches of the decision benchmark: every filter shape the console's page offers, with values drawn from the
/// generated data (popular and rare), time windows of a day, a week or a month, and pages after the first (keyset),
/// as the ICT manager (pseudonyms) and the DSL (names) would make them. Deterministic (seed 7).
/// </summary>
internal static class DecisionsBenchQueries
{
    private static readonly string[] Categories = ["social", "games", "video", "search-engines", "education", "gambling", "adult", "news"];

    public static List<(DecisionQuery Query, bool SeesNames)> Make(DecisionsBenchData data, PupilNames names, int count, DateOnly lastDay, int days)
    {
        var random = new Random(7);
        var start = new DateTimeOffset(lastDay.AddDays(1 - days).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        string Pupil() => data.Pupils[Math.Min(data.Pupils.Count - 1, (int)(Math.Pow(random.NextDouble(), 1.6) * data.Pupils.Count))];
        string Staff() => data.StaffNames[random.Next(data.StaffNames.Count)];
        string Client() => random.Next(3) switch
        {
            0 => $"10.40.{random.Next(0, 5)}.{random.Next(1, 251)}",
            1 => $"10.41.{random.Next(0, 8)}.{random.Next(1, 250)}",
            _ => $"10.20.{random.Next(0, 2)}.{random.Next(1, 101)}",
        };
        string Host()
        {
            // Popular and tail hosts from the top list, as a registrable domain or as the exact host.
            var host = data.TopHosts[Math.Min(data.TopHosts.Count - 1, (int)(Math.Pow(random.NextDouble(), 2.5) * data.TopHosts.Count))];
            return random.Next(3) == 0 ? AuditLineParser.SiteOf(host) : host;
        }
        (DateTimeOffset, DateTimeOffset) Window()
        {
            int length = random.Next(3) switch { 0 => 1, 1 => 7, _ => 30 };
            var from = start.AddDays(random.Next(0, Math.Max(1, days - length)));
            return (from, from.AddDays(length));
        }
        var shapes = new Func<DecisionQuery>[]
        {
            () => new DecisionQuery(),
            () => new DecisionQuery { Blocked = true },
            () => new DecisionQuery { User = Pupil() },
            () => new DecisionQuery { User = names.Pseudonym(Pupil()) },
            () => new DecisionQuery { User = Staff(), Blocked = random.Next(2) == 0 },
            () => new DecisionQuery { User = Pupil(), Blocked = true },
            () => new DecisionQuery { Client = Client() },
            () => new DecisionQuery { Client = Client(), Blocked = true },
            () => new DecisionQuery { Host = Host() },
            () => new DecisionQuery { Host = Host(), Blocked = true },
            () => new DecisionQuery { Category = Categories[random.Next(Categories.Length)] },
            () => new DecisionQuery { Category = Categories[random.Next(Categories.Length)], Blocked = random.Next(2) == 0 },
            () => new DecisionQuery { User = Pupil(), Host = Host() },
            () => new DecisionQuery { User = Pupil(), Category = Categories[random.Next(Categories.Length)] },
            () => new DecisionQuery { Host = Host(), Category = Categories[random.Next(Categories.Length)] },
            () => Windowed(new DecisionQuery(), Window()),
            () => Windowed(new DecisionQuery { User = Pupil() }, Window()),
            () => Windowed(new DecisionQuery { Host = Host() }, Window()),
            () => Windowed(new DecisionQuery { Category = Categories[random.Next(Categories.Length)], Blocked = true }, Window()),
            () => Windowed(new DecisionQuery { Blocked = true, Client = Client() }, Window()),
        };
        var queries = new List<(DecisionQuery, bool)>(count);
        for (int i = 0; i < count; i++)
        {
            var query = shapes[i % shapes.Length]();
            if (random.Next(5) == 0)
            {
                // A later page: the key of a row some way back, as paging would reach it.
                var at = start.AddMinutes(random.Next(0, days * 24 * 60));
                query = query with { Before = new PageKey(at.ToUnixTimeMilliseconds(), long.MaxValue) };
            }
            bool dsl = query.User is not { } u || !u.StartsWith("pupil-", StringComparison.Ordinal) ? random.Next(2) == 0 : false;
            queries.Add((query, dsl));
        }
        return queries;
    }

    private static DecisionQuery Windowed(DecisionQuery query, (DateTimeOffset From, DateTimeOffset Until) window) =>
        query with { From = window.From, Until = window.Until };
}
