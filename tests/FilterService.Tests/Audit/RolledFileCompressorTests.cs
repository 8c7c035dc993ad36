using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using FilterService.Audit;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Audit;

public sealed class RolledFileCompressorTests : IDisposable
{
    private static readonly TimeZoneInfo London = TimeZoneInfo.FindSystemTimeZoneById("Europe/London");

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "auditgz-" + Guid.NewGuid().ToString("N"));
    private readonly CapturingLogger<AuditFile> _log = new();

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static DateTimeOffset Noon(int day) => new(2026, 11, day, 12, 0, 0, TimeSpan.Zero);

    private static byte[] Line(string text) => Encoding.UTF8.GetBytes(text + "\n");

    private string In(string name) => Path.Combine(_dir, name);

    private string[] Names() => Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static string Gunzip(string path)
    {
        using var zip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        return new StreamReader(zip).ReadToEnd();
    }

    private static void Gzip(string path, string text)
    {
        using var zip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        zip.Write(Encoding.UTF8.GetBytes(text));
    }

    private static void WaitUntil(Func<bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting for {what}");
            Thread.Sleep(50);
        }
    }

    [Fact]
    public void RolledDay_IsGzippedOffTheWriter_AndReadersSeeEveryRecordInOrder()
    {
        using (var file = new AuditFile(_dir, "audit-", ".json", 90, _log, London, compressRolled: true))
        {
            for (int i = 0; i < 1000; i++)
            {
                file.Append(Line($"{{\"day\":20,\"i\":{i},\"url\":\"http://www.example.org/page/{i % 7}\"}}"), Noon(20));
            }
            file.Append(Line("{\"day\":21}"), Noon(21));
            WaitUntil(() => File.Exists(In("audit-20261120.json.gz")) && !File.Exists(In("audit-20261120.json")) && !file.Compressor!.Busy, "day 20's .gz");
        }

        Assert.Equal(["audit-20261120.json.gz", "audit-20261121.json"], Names());
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"{{\"day\":20,\"i\":{i},\"url\":\"http://www.example.org/page/{i % 7}\"}}").Append("{\"day\":21}"),
            AuditFiles.ReadLines(_dir));
        Assert.True(new FileInfo(In("audit-20261120.json.gz")).Length * 10 < 1000 * 60, "a day of similar lines compresses at least tenfold");
    }

    [Fact]
    public void Retention_CountsGzippedDays()
    {
        Directory.CreateDirectory(_dir);
        Gzip(In("audit-20261118.json.gz"), "{\"day\":18}\n");
        Gzip(In("audit-20261119.json.gz"), "{\"day\":19}\n");
        File.WriteAllText(In("audit-notes.json.gz"), "not a day file: never deleted");
        using (var file = new AuditFile(_dir, "audit-", ".json", 2, _log, London, compressRolled: true))
        {
            file.Append(Line("{\"day\":20}"), Noon(20));
            file.Append(Line("{\"day\":21}"), Noon(21));
            WaitUntil(() => File.Exists(In("audit-20261120.json.gz")) && !file.Compressor!.Busy, "day 20's .gz");
        }

        Assert.Equal(["audit-20261120.json.gz", "audit-20261121.json", "audit-notes.json.gz"], Names());
        Assert.Equal(["{\"day\":20}", "{\"day\":21}"], AuditFiles.ReadLines(_dir)); // day files only
    }

    [Fact]
    public void CrashLeftovers_AreFinished_NothingLostOrRepeated()
    {
        Directory.CreateDirectory(_dir);
        // Crashed after the rename, before deleting the plain file: the .gz is complete.
        File.WriteAllText(In("audit-20261117.json"), "{\"day\":17}\n");
        Gzip(In("audit-20261117.json.gz"), "{\"day\":17}\n");
        // Crashed while writing the .tmp.
        File.WriteAllText(In("audit-20261118.json"), "{\"day\":18}\n");
        File.WriteAllBytes(In("audit-20261118.json.gz.tmp"), [0x1f, 0x8b, 0x08]);
        // Written again after it was compressed (the clock set back across midnight): appended as a second member.
        Gzip(In("audit-20261119.json.gz"), "{\"day\":19,\"n\":1}\n");
        File.WriteAllText(In("audit-20261119.json"), "{\"day\":19,\"n\":2}\n");
        // Empty (or a FIFO, which has no size): left alone.
        File.WriteAllText(In("audit-20261116.json"), "");

        using (var compressor = new RolledFileCompressor(_dir, "audit-", ".json", _log))
        {
            compressor.Request(new DateOnly(2026, 11, 20));
            WaitUntil(() => !compressor.Busy, "the run");
            Assert.Equal(3, compressor.Compressed);
        }

        Assert.Equal(["audit-20261116.json", "audit-20261117.json.gz", "audit-20261118.json.gz", "audit-20261119.json.gz"], Names());
        Assert.Equal("{\"day\":17}\n", Gunzip(In("audit-20261117.json.gz")));
        Assert.Equal("{\"day\":18}\n", Gunzip(In("audit-20261118.json.gz")));
        Assert.Equal("{\"day\":19,\"n\":1}\n{\"day\":19,\"n\":2}\n", Gunzip(In("audit-20261119.json.gz")));
        Assert.Empty(_log.Entries);
    }

    [Fact]
    public void TheCurrentDay_IsNeverCompressed()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(In("audit-20261120.json"), "{\"day\":20}\n");
        File.WriteAllText(In("audit-20261121.json"), "{\"day\":21}\n");
        using var compressor = new RolledFileCompressor(_dir, "audit-", ".json", _log);
        compressor.Request(new DateOnly(2026, 11, 20));
        WaitUntil(() => !compressor.Busy, "the run");
        Assert.Equal(["audit-20261120.json", "audit-20261121.json"], Names());
    }
}
