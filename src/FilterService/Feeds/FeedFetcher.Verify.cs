using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography;
using PolicyModel.Decisions;
using PolicyModel.Matching;
using Polly.Retry;
using Polly.Timeout;

namespace FilterService.Feeds;

/// <summary>Verification of a download: the SHA-256 published beside it, or a detached ECDSA P-256 signature.</summary>
internal sealed partial class FeedFetcher
{
    private async Task<(FeedFailure Failure, string Message)?> VerifyAsync(FeedSpec feed, byte[] digest, AuthenticationHeaderValue? auth, CancellationToken ct)
    {
        if (feed.Verify == FeedVerify.None)
        {
            return null;
        }
        var suffix = feed.Verify == FeedVerify.Sha256 ? ".sha256" : ".sig";
        var failure = feed.Verify == FeedVerify.Sha256 ? FeedFailure.HashMismatch : FeedFailure.BadSignature;
        byte[]? sidecar;
        try
        {
            sidecar = await ReadSidecarAsync(feed, feed.Source + suffix, auth, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutRejectedException && !ct.IsCancellationRequested)
        {
            return (failure, $"{Shown(feed)}{suffix}: cannot be fetched ({ex.Message}); the download is unverified");
        }
        if (sidecar is null)
        {
            return (failure, $"{Shown(feed)}{suffix}: not published (or not found); the download is unverified");
        }
        if (feed.Verify == FeedVerify.Sha256)
        {
            var text = System.Text.Encoding.ASCII.GetString(sidecar).Trim();
            var published = text.Split([' ', '\t', '\n', '\r'], 2)[0].ToLowerInvariant();
            var actual = Convert.ToHexStringLower(digest);
            return published == actual ? null : (failure, $"{Shown(feed)}: SHA-256 {actual[..16]}... is not the published {(published.Length >= 16 ? published[..16] + "..." : "'" + published + "'")}; the download is refused");
        }
        using var key = ECDsa.Create();
        key.ImportFromPem(feed.PublicKeyPem);
        var format = sidecar.Length == 64 ? DSASignatureFormat.IeeeP1363FixedFieldConcatenation : DSASignatureFormat.Rfc3279DerSequence;
        bool valid;
        try
        {
            valid = key.VerifyHash(digest, sidecar, format);
        }
        catch (CryptographicException)
        {
            valid = false;
        }
        return valid ? null : (failure, $"{Shown(feed)}: the signature does not verify with key '{feed.KeyPath}'; the download is refused");
    }

    private async Task<byte[]?> ReadSidecarAsync(FeedSpec feed, string source, AuthenticationHeaderValue? auth, CancellationToken ct)
    {
        byte[]? bytes = null;
        Task Take(DigestStream body, CancellationToken token)
        {
            using var memory = new MemoryStream();
            var buffer = new byte[SidecarLimit + 1];
            int n, total = 0;
            while ((n = body.Read(buffer, total, buffer.Length - total)) > 0)
            {
                total += n;
                if (total > SidecarLimit)
                {
                    throw new FeedTooLargeException(SidecarLimit);
                }
            }
            bytes = buffer[..total];
            return Task.CompletedTask;
        }
        var got = feed.IsFile
            ? File.Exists(source) ? await ReadFileAsync(source, null, Take, ct) : null
            : await _pipeline.ExecuteAsync(token => new ValueTask<Attempt>(AttemptAsync(new Uri(source), null, auth, Take, token)), ct);
        return got?.Digest is null ? null : bytes;
    }
}
