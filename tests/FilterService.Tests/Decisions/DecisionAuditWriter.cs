using System.Net;
using FilterService.Audit;
using FilterService.Hosting;
using FilterService.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using PolicyModel.Decisions;

namespace FilterService.Tests.Decisions;

/// <summary>
/// Writes audit files with the real <see cref="AuditLog"/> (days in UTC, rolled files gzipped, retention) for the
/// decision index's tests, and waits for its writer to put what was appended on disk.
/// </summary>
internal sealed class DecisionAuditWriter : IDisposable
{
    private readonly AuditLog _log;
    private int _serial;

    public DecisionAuditWriter(string directory, int retainDays = 90, long maxBacklogBytes = AuditFile.DefaultMaxBacklogBytes, int firstSerial = 0)
    {
        _serial = firstSerial;
        Directory = directory;
        _log = new AuditLog(new AuditOptions { Path = directory, RetainDays = retainDays, CompressRolled = true, MaxBacklogBytes = maxBacklogBytes,
            OnWriteFailure = AuditFailureMode.AllowAndCount }, NullLogger<AuditLog>.Instance, TimeZoneInfo.Utc, TimeProvider.System);
    }

    public string Directory { get; }

    /// <summary>Bytes appended but not yet written by the log's writer thread.</summary>
    public long BacklogBytes => _log.BacklogBytes;

    /// <summary>Whether <see cref="Written"/> is kept (off for a file that grows without end).</summary>
    public bool Keep { get; init; } = true;

    /// <summary>Records appended so far, in order: what the index must hold (retention aside).</summary>
    public List<DecisionRecord> Written { get; } = [];

    public static DateTimeOffset Day(int day, int hour = 9) => new(2026, 11, day, hour, 0, 0, TimeSpan.Zero);

    /// <summary>A record at <paramref name="at"/>: user, roles, host, category and action vary with <paramref name="i"/>.</summary>
    public DecisionRecord Write(DateTimeOffset at, string? user = null, string[]? roles = null, string? host = null, bool? blocked = null, string? category = null)
    {
        int i = _serial++;
        bool block = blocked ?? i % 5 == 0;
        host ??= (i % 3) switch { 0 => "www.bbc.co.uk", 1 => "www.facebook.com", _ => "classroom.google.com" };
        category ??= host.Contains("facebook", StringComparison.Ordinal) ? "social" : host.Contains("bbc", StringComparison.Ordinal) ? "news" : null;
        user ??= "user" + (i % 7);
        roles ??= i % 7 < 5 ? ["pupil"] : ["staff"];
        var record = new DecisionRecord(at, IPAddress.Parse($"10.40.{i % 4}.{i % 200 + 1}"), user, roles, i % 2 == 0 ? "pupil-lan" : "staff-lan",
            i % 4 == 0 ? "CONNECT" : "GET", i % 4 == 0 ? host + ":443" : $"http://{host}/page/{i}", block ? DecisionAction.Block : DecisionAction.Allow,
            block ? "block-" + (category ?? "other") : "default", category, block ? 403 : 200, 10, 1000, TimeSpan.FromMilliseconds(2),
            i.ToString("X8", System.Globalization.CultureInfo.InvariantCulture), "v1", null);
        _log.OnDecision(record);
        if (Keep)
        {
            Written.Add(record);
        }
        return record;
    }

    /// <summary>Waits (at most 20 s) until the files hold <paramref name="lines"/> lines and every day but the newest is gzipped.</summary>
    public void WaitForDisk(int lines, Func<bool>? also = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            int count;
            try
            {
                count = AuditFiles.ReadLines(Directory).Count;
            }
            catch (FileNotFoundException)
            {
                count = -1; // compressed or deleted between the listing and the read: look again
            }
            var names = System.IO.Directory.GetFiles(Directory, "audit-*").Select(n => Path.GetFileName(n)!).ToList();
            // Settled: every day but the newest rolled and gzipped, none half-way. The compressor runs on its own thread,
            // and a day it finishes after a pass read the plain file is a new file to that pass (its size counted as lag).
            var days = names.Select(n => n.Split('.')[0]).ToList();
            string? newest = days.Count == 0 ? null : days.Max(StringComparer.Ordinal);
            bool settled = !names.Any(n => n.EndsWith(".json", StringComparison.Ordinal) && (names.Contains(n + ".gz") || n.Split('.')[0] != newest));
            if (count == lines && settled && (also is null || also()))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"the audit files hold {count} lines, expected {lines}; files: {string.Join(", ", names)}");
            }
            Thread.Sleep(50);
        }
    }

    public bool Exists(string name) => File.Exists(Path.Combine(Directory, name));

    public void Dispose() => _log.Dispose();
}
