using System.Formats.Tar;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using FilterService.Policy;
using PolicyModel.Decisions;
using PolicyModel.Files;
using PolicyModel.Matching;
using Polly.Retry;
using Polly.Timeout;
using Polly;

namespace FilterService.Feeds;

/// <summary>The validators of the last good download, sent back as If-None-Match / If-Modified-Since.</summary>
internal sealed record FeedValidators(string? ETag, string? LastModified);

/// <summary>
/// One fetched and checked download, staged beside the live list (<c>PATH.download</c>) and not yet installed; or
/// why there is none. <see cref="Parsed"/> is the staged list as the loader reads it.
/// </summary>
internal sealed record FeedCheck(
    FeedSpec Feed,
    bool NotModified,
    FeedFailure? Failure,
    string? Message,
    string? Staged,
    ParsedList? Parsed,
    string? Digest,
    FeedValidators? Validators,
    string? Version)
{
    public bool Ok => Failure is null;

    public static FeedCheck Fail(FeedSpec feed, FeedFailure failure, string message, string? staged = null) =>
        new(feed, false, failure, message, staged, null, null, null, null);
}

/// <summary>
/// Fetches one feed and checks it, as numbered steps (YARP's forwarder style); failures are values, never exceptions:
/// <list type="number">
/// <item>request, conditional on the last good validators, with the configured credentials; 304 ends here;</item>
/// <item>retries with exponential backoff and jitter (Polly) on no answer, 5xx, 408, 429 and a truncated body;</item>
/// <item>stream the body under <c>Feeds:MaxBytes</c>, hashing it as it arrives: to <c>PATH.download</c>, or, for
/// <c>hash: true</c>, parsed in memory and written only in hashed form (the plain list never rests on disk);</item>
/// <item>verify: the SHA-256 published at <c>SOURCE.sha256</c>, or the detached signature at <c>SOURCE.sig</c>;</item>
/// <item>unpack a UT1 archive's <c>domains</c> and <c>urls</c> (bounded);</item>
/// <item>parse the staged list as the loader will, with its diagnostics: a statutory list must parse cleanly (PM0205)
/// and have entries (PM0204).</item>
/// </list>
/// Installing, the shrink guard and the reload are the caller's (<see cref="FeedUpdater"/>, <c>lists update</c>).
/// </summary>
internal sealed partial class FeedFetcher : IDisposable
{
    public const string StagedSuffix = ".download";

    private const int SidecarLimit = 4096;

    private readonly HttpClient _http;
    private readonly FeedOptions _options;
    private readonly ResiliencePipeline<Attempt> _pipeline;

    public FeedFetcher(FeedOptions options, TimeProvider time)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            UseCookies = false,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        };
        if (options.TrustedCaFile is { } caFile)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is not null && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && ChainsTo(new X509Certificate2(certificate), roots);
        }
        // Redirects to http:// are refused by HttpClient (https -> http is never followed).
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("SchoolFilter-FeedUpdater/1");
        _pipeline = new ResiliencePipelineBuilder<Attempt> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<Attempt>
            {
                MaxRetryAttempts = Math.Max(1, options.Retries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                ShouldHandle = args => ValueTask.FromResult(options.Retries > 0 && (args.Outcome.Exception is HttpRequestException or IOException or TimeoutRejectedException
                    ? args.Outcome.Exception is not FeedTooLargeException
                    : args.Outcome.Result is { Transient: true })),
            })
            .AddTimeout(options.Timeout)
            .Build();
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>What one attempt got: a status, or a body consumed; transient failures are retried.</summary>
    private sealed record Attempt(HttpStatusCode Status, bool Transient, FeedValidators? Validators, byte[]? Digest, long Bytes);

    /// <summary>Steps 1-6 for <paramref name="feed"/>, staging beside <paramref name="policyDirectory"/>'s live list.</summary>
    public async Task<FeedCheck> FetchAsync(FeedSpec feed, string policyDirectory, FeedValidators? validators, CancellationToken cancellationToken)
    {
        var live = Path.GetFullPath(Path.Combine(policyDirectory, feed.ListPath));
        var staged = live + StagedSuffix;
        var archive = live + StagedSuffix + ".tar.gz";
        FeedInstaller.Delete(staged);
        FeedInstaller.Delete(archive);
        try
        {
            var result = await FetchCoreAsync(feed, live, staged, archive, validators, cancellationToken);
            if (!result.Ok && result.Staged is null)
            {
                FeedInstaller.Delete(staged);
            }
            return result;
        }
        finally
        {
            FeedInstaller.Delete(archive);
        }
    }

    private async Task<FeedCheck> FetchCoreAsync(FeedSpec feed, string live, string staged, string archive, FeedValidators? validators, CancellationToken ct)
    {
        AuthenticationHeaderValue? auth = null;
        if (feed.Credentials is { } name)
        {
            auth = FeedCredentials.Resolve(_options, name);
            if (auth is null)
            {
                return FeedCheck.Fail(feed, FeedFailure.NoCredentials,
                    $"credentials '{name}' are not configured: set Feeds:Credentials:{name}:Username and :Password (or :Token), or add them to Feeds:CredentialsFile");
            }
        }

        // Steps 1-3: the body goes to the archive (UT1), to the staged file, or (hash: true) into memory only.
        ParsedList? plain = null;
        Func<DigestStream, CancellationToken, Task> consume = feed switch
        {
            { Hash: true } => (body, _) =>
            {
                plain = ListReader.Read(body, feed.ListPath, feed.Format, feed.Exact);
                return Task.CompletedTask;
            },
            { Format: ListFormat.Ut1 } => (body, token) => CopyToFileAsync(body, archive, token),
            _ => (body, token) => CopyToFileAsync(body, staged, token),
        };
        Attempt got;
        try
        {
            got = feed.IsFile
                ? await ReadFileAsync(feed.Source, validators, consume, ct)
                : await _pipeline.ExecuteAsync(token => new ValueTask<Attempt>(AttemptAsync(new Uri(feed.Source), validators, auth, consume, token)), ct);
        }
        catch (FeedTooLargeException ex)
        {
            return FeedCheck.Fail(feed, FeedFailure.TooLarge, $"{Shown(feed)}: {ex.Message}");
        }
        catch (Exception ex) when (ex is HttpIOException or IOException && !ct.IsCancellationRequested)
        {
            return FeedCheck.Fail(feed, FeedFailure.Truncated, $"{Shown(feed)}: the download ended early or broke off ({ex.Message})");
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or UnauthorizedAccessException && !ct.IsCancellationRequested)
        {
            return FeedCheck.Fail(feed, FeedFailure.Unreachable, $"{Shown(feed)}: {ex.Message}");
        }
        if (got.Status == HttpStatusCode.NotModified)
        {
            return new FeedCheck(feed, true, null, null, null, null, null, validators, null);
        }
        if (got.Digest is null)
        {
            return FeedCheck.Fail(feed, FeedFailure.HttpStatus, $"{Shown(feed)}: the server answered {(int)got.Status} {got.Status}");
        }

        // Step 4: verify the bytes that came, before anything is made of them.
        var digestHex = Convert.ToHexStringLower(got.Digest);
        if (await VerifyAsync(feed, got.Digest, auth, ct) is { } refused)
        {
            // The download is kept for inspection as PATH.refused (hashed already for a confidential list).
            if (feed.Hash && plain is not null)
            {
                WriteHashed(plain, staged);
            }
            else if (feed.Format == ListFormat.Ut1)
            {
                File.Move(archive, staged, overwrite: true);
            }
            return FeedCheck.Fail(feed, refused.Failure, refused.Message, File.Exists(staged) ? staged : null);
        }

        // Step 5: stage in the form the loader reads.
        if (feed.Hash)
        {
            WriteHashed(plain!, staged);
        }
        else if (feed.Format == ListFormat.Ut1 && Unpack(feed, archive, staged) is { } bad)
        {
            return bad;
        }

        // Step 6: parse as the loader will, with its codes.
        ParsedList parsed;
        try
        {
            parsed = ListReader.Read(staged, feed.ListPath, feed.StoredFormat, feed.Exact, PolicyFiles.MaxListBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return FeedCheck.Fail(feed, FeedFailure.Malformed, $"{feed.ListPath}: error PM0201: cannot read the download: {ex.Message}", staged);
        }
        var warnings = plain?.Warnings ?? parsed.Warnings;
        if (feed.Statutory && warnings.Count > 0)
        {
            var w = warnings[0];
            int skipped = plain?.SkippedLines ?? parsed.SkippedLines;
            return FeedCheck.Fail(feed, FeedFailure.Malformed,
                $"{w.File}:{w.Line}:1: error PM0205: malformed line in statutory list: {w.Message}" + (skipped > 1 ? $" (and {skipped - 1} more)" : ""), staged);
        }
        if (feed.Statutory && parsed.Entries.Count == 0)
        {
            return FeedCheck.Fail(feed, FeedFailure.Empty, $"{feed.ListPath}: error PM0204: statutory list '{feed.ListPath}' has no entries; refusing it (fail closed)", staged);
        }
        var version = got.Validators?.ETag ?? "sha256:" + digestHex[..16];
        return new FeedCheck(feed, false, null, null, staged, parsed, ListConfirmations.Digest(staged), got.Validators, version);
    }

    private async Task<Attempt> AttemptAsync(Uri uri, FeedValidators? validators, AuthenticationHeaderValue? auth,
        Func<DigestStream, CancellationToken, Task> consume, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = auth;
        if (validators?.ETag is { } etag && EntityTagHeaderValue.TryParse(etag, out var tag))
        {
            request.Headers.IfNoneMatch.Add(tag);
        }
        if (validators?.LastModified is { } modified && DateTimeOffset.TryParse(modified, out var since))
        {
            request.Headers.IfModifiedSince = since;
        }
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        await FeedThreads.LeaveSocketThread();
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            return new Attempt(response.StatusCode, false, validators, null, 0);
        }
        if (!response.IsSuccessStatusCode)
        {
            bool transient = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            return new Attempt(response.StatusCode, transient, null, null, 0);
        }
        if (response.Content.Headers.ContentLength is long announced && announced > _options.MaxBytes)
        {
            throw new FeedTooLargeException(_options.MaxBytes);
        }
        using var body = new DigestStream(await response.Content.ReadAsStreamAsync(ct), _options.MaxBytes);
        try
        {
            await consume(body, ct);
        }
        catch (HttpRequestException ex)
        {
            // The headers came; the body broke off (a reset connection surfaces as this rather than an IOException).
            throw new IOException(ex.Message, ex);
        }
        // A body that ends before its Content-Length makes HttpClient throw; this also catches a server that lies.
        if (response.Content.Headers.ContentLength is long length && body.BytesRead != length)
        {
            throw new IOException($"{body.BytesRead} of {length} bytes");
        }
        var next = new FeedValidators(response.Headers.ETag?.ToString(), response.Content.Headers.LastModified?.ToString("R"));
        return new Attempt(response.StatusCode, false, next, body.Digest(), body.BytesRead);
    }

    /// <summary>A file another tool drops: "not modified" when its length and time are those of the last good one.</summary>
    private async Task<Attempt> ReadFileAsync(string path, FeedValidators? validators, Func<DigestStream, CancellationToken, Task> consume, CancellationToken ct)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new HttpRequestException($"the file '{path}' does not exist");
        }
        var stamp = $"\"{info.Length}-{info.LastWriteTimeUtc.Ticks}\"";
        if (validators?.ETag == stamp)
        {
            return new Attempt(HttpStatusCode.NotModified, false, validators, null, 0);
        }
        if (info.Length > _options.MaxBytes)
        {
            throw new FeedTooLargeException(_options.MaxBytes);
        }
        using var body = new DigestStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), _options.MaxBytes);
        await consume(body, ct);
        return new Attempt(HttpStatusCode.OK, false, new FeedValidators(stamp, null), body.Digest(), body.BytesRead);
    }

    private static async Task CopyToFileAsync(Stream body, string path, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        await body.CopyToAsync(file, 1 << 16, ct);
        file.Flush(flushToDisk: true);
    }

    private static void WriteHashed(ParsedList plain, string path)
    {
        using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false));
        writer.WriteLine(ListWriter.HashedHeader);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in plain.Entries)
        {
            var digest = ListWriter.HashOf(entry.Value);
            if (seen.Add(digest))
            {
                writer.WriteLine(digest);
            }
        }
        writer.Flush();
        ((FileStream)writer.BaseStream).Flush(flushToDisk: true);
    }

    /// <summary>UT1's category archive: <c>CATEGORY/domains</c> and <c>CATEGORY/urls</c>, unpacked under the size limit.</summary>
    private FeedCheck? Unpack(FeedSpec feed, string archive, string staged)
    {
        Directory.CreateDirectory(staged);
        long total = 0;
        var found = new List<string>();
        try
        {
            using var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                var name = entry.Name.Replace('\\', '/').TrimEnd('/');
                var leaf = name[(name.LastIndexOf('/') + 1)..];
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || leaf is not ("domains" or "urls") || name.Count(c => c == '/') > 2
                    || entry.DataStream is null || found.Contains(leaf))
                {
                    continue;
                }
                total += entry.Length;
                if (total > _options.MaxBytes)
                {
                    return FeedCheck.Fail(feed, FeedFailure.TooLarge, $"{Shown(feed)}: unpacks to more than Feeds:MaxBytes ({_options.MaxBytes:N0} bytes)");
                }
                using (var file = File.Create(Path.Combine(staged, leaf)))
                {
                    entry.DataStream.CopyTo(file);
                }
                found.Add(leaf);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException)
        {
            return FeedCheck.Fail(feed, FeedFailure.Truncated, $"{Shown(feed)}: not a complete UT1 tar.gz archive ({ex.Message})");
        }
        return found.Count == 0
            ? FeedCheck.Fail(feed, FeedFailure.Malformed, $"{Shown(feed)}: the archive holds neither 'domains' nor 'urls'")
            : null;
    }

    /// <summary>The source without its query string (a members-only URL may carry a token there).</summary>
    internal static string Shown(FeedSpec feed) =>
        feed.IsFile ? feed.Source : new Uri(feed.Source).GetLeftPart(UriPartial.Path);

    public void Dispose() => _http.Dispose();
}
