using FilterService.Feeds;
using FilterService.Tests.TestSupport;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Documents;
using PolicyModel.Matching;

namespace FilterService.Tests.Feeds;

/// <summary>Issue 21: the fetcher's size limit, against the local HTTPS feed server: announced, and counted while streaming.</summary>
public sealed class Issue21FeedFetcherTests
{
    [Theory]
    [InlineData(FeedServer.Fault.None)]
    [InlineData(FeedServer.Fault.Chunked)]
    public async Task Issue21_DownloadOverMaxBytes_IsRefusedAsTooLarge_NothingStaged(FeedServer.Fault fault)
    {
        await using var server = await FeedServer.StartAsync();
        server.Publish("/big.txt", string.Concat(Enumerable.Range(0, 1000).Select(i => $"host-{i}.test\n")));
        server.Faults["/big.txt"] = fault;
        var dir = TempDir.Create("feedfetch");
        Directory.CreateDirectory(Path.Combine(dir, "lists"));
        using var fetcher = new FeedFetcher(new FeedOptions { TrustedCaFile = server.CaFile, MaxBytes = 2048, Retries = 0 }, TimeProvider.System);
        var feed = new FeedSpec("c", "lists/big.txt", false, server.Url("/big.txt"), ListFormat.Domains, false, TimeSpan.FromHours(1), FeedVerify.None,
            null, null, null, false, new SourceLocation("policy.yaml", 1, 1));

        var check = await fetcher.FetchAsync(feed, dir, null, CancellationToken.None);

        Assert.Equal(FeedFailure.TooLarge, check.Failure);
        Assert.Equal($"{server.Url("/big.txt")}: larger than Feeds:MaxBytes (2,048 bytes)", check.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "lists")));
    }
}
