using System.Buffers;
using System.IO.Compression;
using System.Net;
using FilterService.Audit;
using PolicyModel.Decisions;

namespace FilterService.Benchmarks;

/// <summary>
/// Generates a school's months of audit log in the real format (<see cref="AuditLog.JsonLineFormatter"/>, one file per
/// day, rolled days gzipped as <see cref="RolledFileCompressor"/> leaves them, the last day plain): about 1,200 pupils,
/// 150 staff and guests on their own network; weekdays busy between 8 and 16, weekends quiet; hosts from the Umbrella
/// top 100k (skewed towards the top) plus attempts at social, gambling and adult hosts from the lists in
/// shared/data/lists; about one request in ten blocked. Deterministic (seed 42).
/// </summary>
internal sealed class DecisionsBenchData
{
    private static readonly string[] Surnames = ["smith", "jones", "patel", "khan", "brown", "taylor", "wilson", "davies", "evans", "thomas",
        "johnson", "roberts", "walker", "wright", "robinson", "thompson", "white", "hughes", "edwards", "green", "hall", "wood", "harris",
        "lewis", "martin", "jackson", "clarke", "clark", "turner", "hill", "scott", "cooper", "morris", "ward", "moore", "king", "watson"];
    private static readonly string[] Pupil = ["pupil"], Staff = ["staff"], Guest = ["guest"];
    private static readonly string[] GeneralCategories = ["search-engines", "education", "video", "news", "shopping", "games", "webmail", "sport"];

    private readonly Random _random = new(42);
    private readonly string[] _top, _social, _gambling, _adult;
    private readonly string[] _pupils, _staff;

    public DecisionsBenchData(string listsDirectory)
    {
        _top = File.ReadLines(Path.Combine(listsDirectory, "umbrella-top-100k.txt")).Where(l => l.Length > 0).ToArray();
        _social = Hosts(Path.Combine(listsDirectory, "sinfonietta-social.hosts"));
        _gambling = Hosts(Path.Combine(listsDirectory, "sinfonietta-gambling.hosts"));
        _adult = Hosts(Path.Combine(listsDirectory, "sinfonietta-pornography.hosts"));
        _pupils = Enumerable.Range(0, 1200).Select(i => $"{(char)('a' + i % 26)}.{Surnames[i / 26 % Surnames.Length]}{i / 26 / Surnames.Length + 1}").ToArray();
        _staff = Enumerable.Range(0, 150).Select(i => $"staff.{(char)('a' + i % 26)}{Surnames[i % Surnames.Length]}").ToArray();
    }

    public IReadOnlyList<string> Pupils => _pupils;
    public IReadOnlyList<string> StaffNames => _staff;
    public IReadOnlyList<string> TopHosts => _top;

    private static string[] Hosts(string path) => File.ReadLines(path)
        .Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#')
        .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length >= 2).Select(p => p[1].ToLowerInvariant()).ToArray();

    /// <summary>The category a list would give a top host (half have none), stable per host.</summary>
    public static string? CategoryOf(string host)
    {
        uint h = (uint)host.Aggregate(17, (a, c) => a * 31 + c);
        return h % 16 < 8 ? null : GeneralCategories[h % 16 - 8];
    }

    /// <summary>Writes <paramref name="records"/> records over <paramref name="days"/> days ending at <paramref name="lastDay"/>; returns the bytes written (uncompressed).</summary>
    public long Write(string directory, long records, int days, DateOnly lastDay, Action<string>? progress = null)
    {
        Directory.CreateDirectory(directory);
        var dates = Enumerable.Range(0, days).Select(i => lastDay.AddDays(i - days + 1)).ToArray();
        var weights = dates.Select(d => d.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 0.08 : 1.0).ToArray();
        double total = weights.Sum();
        long written = 0, bytes = 0, serial = 0;
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        for (int d = 0; d < days; d++)
        {
            long count = d == days - 1 ? records - written : (long)Math.Round(records * weights[d] / total);
            var name = Path.Combine(directory, $"audit-{dates[d]:yyyyMMdd}.json");
            bool gz = d < days - 1;
            using var file = new FileStream(gz ? name + ".gz" : name, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            using Stream output = gz ? new GZipStream(file, CompressionLevel.Fastest) : file;
            var start = new DateTimeOffset(dates[d].ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            var times = new long[count];
            for (long i = 0; i < count; i++)
            {
                times[i] = _random.NextDouble() < 0.92
                    ? (long)((8 + _random.NextDouble() * 8) * 3_600_000)
                    : (long)(_random.NextDouble() * 86_400_000);
            }
            Array.Sort(times);
            foreach (var ms in times)
            {
                buffer.ResetWrittenCount();
                AuditLog.JsonLineFormatter.Write(Next(start.AddMilliseconds(ms), serial++), buffer);
                buffer.Write("\n"u8);
                output.Write(buffer.WrittenSpan);
                bytes += buffer.WrittenCount;
            }
            written += count;
            progress?.Invoke($"{dates[d]:yyyy-MM-dd}: {count:N0} records ({written:N0} of {records:N0})");
        }
        return bytes;
    }

    private DecisionRecord Next(DateTimeOffset at, long serial)
    {
        double who = _random.NextDouble();
        string? user;
        string[] roles;
        string network;
        IPAddress client;
        if (who < 0.80)
        {
            int i = Skewed(_pupils.Length, 1.6);
            user = _pupils[i];
            roles = Pupil;
            network = "pupil-lan";
            client = _random.NextDouble() < 0.7
                ? new IPAddress([10, 40, (byte)(i / 250), (byte)(i % 250 + 1)])
                : new IPAddress([10, 41, (byte)_random.Next(0, 8), (byte)_random.Next(1, 250)]); // shared suites
        }
        else if (who < 0.93)
        {
            int i = Skewed(_staff.Length, 1.4);
            user = _staff[i];
            roles = Staff;
            network = "staff-lan";
            client = new IPAddress([10, 20, (byte)(i / 100), (byte)(i % 100 + 1)]);
        }
        else
        {
            user = null;
            roles = Guest;
            network = "guest-wifi";
            client = new IPAddress([10, 60, (byte)_random.Next(0, 4), (byte)_random.Next(1, 250)]);
        }
        double what = _random.NextDouble();
        string host;
        string? category;
        if (what < 0.06)
        {
            (host, category) = (_social[Skewed(_social.Length, 3)], "social");
        }
        else if (what < 0.068)
        {
            (host, category) = (_gambling[_random.Next(_gambling.Length)], "gambling");
        }
        else if (what < 0.074)
        {
            (host, category) = (_adult[_random.Next(_adult.Length)], "adult");
        }
        else
        {
            host = _top[Skewed(_top.Length, 3)];
            category = CategoryOf(host);
        }
        bool blocked = category switch
        {
            "gambling" or "adult" => true,
            "social" or "games" => roles != Staff,
            _ => false,
        };
        bool connect = _random.NextDouble() < 0.85;
        string target = connect ? host + ":443" : $"http://{host}/{(char)('a' + _random.Next(26))}{_random.Next(1000)}/index.html?q={_random.Next(100000)}";
        string rule = blocked ? (roles == Pupil ? "pupils-" : roles == Staff ? "staff-" : "guests-") + category : "default-allow";
        return new DecisionRecord(at, client, user, roles, network, connect ? "CONNECT" : "GET", target,
            blocked ? DecisionAction.Block : DecisionAction.Allow, rule, category, blocked ? 403 : 200,
            _random.Next(200, 4000), blocked ? 977 : _random.Next(500, 400_000), TimeSpan.FromMilliseconds(_random.Next(1, 3000) / 10.0),
            ((uint)(serial * 2654435761L)).ToString("X8", System.Globalization.CultureInfo.InvariantCulture), "c5576528019e", null,
            blocked || connect ? null : "93.184.216.34");
    }

    /// <summary>An index in [0, n) skewed towards 0 (power <paramref name="skew"/>): a few popular values, a long tail.</summary>
    private int Skewed(int n, double skew) => Math.Min(n - 1, (int)(Math.Pow(_random.NextDouble(), skew) * n));
}
