using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Proxy;

/// <summary>
/// The lean HTTP stage's head deadline (<c>Proxy:HeadTimeout</c>) runs on the injected clock, as the CONNECT one does;
/// each test with the tunnel loop accepting (it hands a plain request over at its first bytes) and without it.
/// </summary>
public sealed class LeanHeadDeadlineTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TrickledHead_Gets408WhenTheInjectedClockPassesHeadTimeout_NotTheWallClock(bool loop)
    {
        // A one-minute head deadline on a clock whose timers fire only when the test moves it.
        var clock = new FakeTime(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero), manualTimers: true);
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, null, clock,
            Settings(loop));
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync("GET http://slow.test/ HTTP/1.1\r\nHost: slow.test\r\n");

        // The stage arms its deadline when it starts reading, at some point of the clock the test cannot see, so the
        // clock moves a second at a time until the answer comes: never before a minute, and within seconds of wall time.
        var answer = raw.ReadAllAsync(Wait);
        var (moved, _) = await TrickleAsync(clock, raw, "", TimeSpan.Zero, answer);
        Assert.True(moved >= TimeSpan.FromSeconds(60), $"answered after {moved} of the injected clock, before the head deadline");
        await AssertTimedOutAsync(service, clock, await answer);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HeadTrickledFromJustBeforeHeadTimeout_Gets408AtHeadTimeoutSinceAccept_NotSinceFirstByte(bool loop)
    {
        var clock = new FakeTime(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero), manualTimers: true);
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, null, clock,
            Settings(loop));
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);

        // Silent for 50 s of the injected clock, then a byte a second: a head that never completes. The connection's
        // head deadline is a minute from the accept; a fresh minute from the first byte would hold it until ~110 s.
        var head = "GET http://slow.test/ HTTP/1.1\r\nHost: slow.test\r\nX-Slow: " + new string('a', 200);
        var answer = raw.ReadAllAsync(TimeSpan.FromSeconds(30));
        var (moved, sent) = await TrickleAsync(clock, raw, head, TimeSpan.FromSeconds(50), answer);
        Assert.True(sent > 0, "nothing of the head was sent before the answer");
        Assert.True(moved >= TimeSpan.FromSeconds(60), $"answered after {moved} of the injected clock, before the head deadline");
        Assert.True(moved < TimeSpan.FromSeconds(90), $"answered after {moved} of the injected clock: the head deadline restarted at the first byte");
        await AssertTimedOutAsync(service, clock, await answer);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task KeptAliveRequestTrickled_Gets408AtHeadTimeoutSinceItsFirstByte_NotAtTheKeepAliveDeadline(bool loop)
    {
        var clock = new FakeTime(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero), manualTimers: true);
        await using var origin = new ScriptedOrigin(_ => ScriptedOrigin.Answer.Of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        await using var service = await RunningService.StartAsync(Samples.DefaultDir, null, clock,
            [.. Settings(loop), "--Proxy:AllowLoopbackUpstream=true", $"--Proxy:HostOverrides:allowed.test=127.0.0.1:{origin.Port}"]);
        await using var raw = await RawClient.ConnectAsync(service.ProxyEndPoint);
        await raw.SendAsync("GET http://allowed.test/first HTTP/1.1\r\nHost: allowed.test\r\n\r\n");
        var (first, _) = await raw.ReadAllAsync(Wait, text => text.EndsWith("\r\n\r\nok", StringComparison.Ordinal));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", first);

        // Idle for 30 s of the injected clock, then the next head a byte a second, never complete: it is due a minute
        // after its first byte (~90 s), not at the keep-alive deadline (120 s) nor a minute after a later byte.
        var head = "GET http://allowed.test/second HTTP/1.1\r\nHost: allowed.test\r\nX-Slow: " + new string('a', 200);
        var answer = raw.ReadAllAsync(TimeSpan.FromSeconds(30));
        var (moved, _) = await TrickleAsync(clock, raw, head, TimeSpan.FromSeconds(30), answer);
        Assert.True(moved >= TimeSpan.FromSeconds(89), $"answered after {moved} of the injected clock, before the head deadline");
        Assert.True(moved < TimeSpan.FromSeconds(110), $"answered after {moved} of the injected clock: not a minute after the first byte");
        await AssertTimedOutAsync(service, clock, await answer);
    }

    /// <summary>The lean stage, a one-minute head deadline and a two-minute keep-alive, the tunnel loop on or off.</summary>
    private static string[] Settings(bool loop) =>
        ["--Proxy:LeanHttp=true", $"--Proxy:TunnelLoop={loop}", "--Proxy:HeadTimeout=00:01:00", "--Proxy:KeepAliveTimeout=00:02:00"];

    /// <summary>
    /// A 408 and the connection closed, and the head-timeout audit record with status 408. The audit file flushes on the
    /// injected clock too (<c>Audit:FlushInterval</c>, 100 ms here), so the clock keeps moving a flush interval at a time
    /// while the test waits for the record; the connection is closed, so no deadline of its is left to fire.
    /// </summary>
    private static async Task AssertTimedOutAsync(RunningService service, FakeTime clock, (string Text, bool Closed) answer)
    {
        Assert.StartsWith("HTTP/1.1 408 Request Timeout\r\n", answer.Text);
        Assert.True(answer.Closed);
        using var stop = new CancellationTokenSource();
        var flushing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                clock.Advance(TimeSpan.FromMilliseconds(100));
                await Task.Delay(20);
            }
        });
        try
        {
            var record = await service.WaitForAuditAsync(r => r.Str("rule") == "head-timeout" && r.Int("status") == 408, "the trickled head");
            Assert.Equal(408, record.Int("status"));
        }
        finally
        {
            stop.Cancel();
            await flushing;
        }
    }

    /// <summary>
    /// Moves the injected clock a second at a time (at most 5 min) until <paramref name="answer"/> completes, sending
    /// <paramref name="head"/> a byte a second from <paramref name="firstByte"/> on; the clock moved and bytes sent.
    /// </summary>
    private static async Task<(TimeSpan Moved, int Sent)> TrickleAsync(FakeTime clock, RawClient raw, string head, TimeSpan firstByte,
        Task answer)
    {
        var moved = TimeSpan.Zero;
        int sent = 0;
        bool sending = true;
        while (!answer.IsCompleted && moved < TimeSpan.FromMinutes(5))
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            moved += TimeSpan.FromSeconds(1);
            if (sending && moved >= firstByte && sent < head.Length)
            {
                try
                {
                    await raw.SendAsync(head.Substring(sent, 1));
                    sent++;
                }
                catch (IOException)
                {
                    sending = false; // the proxy closed the connection
                }
            }
            await Task.WhenAny(answer, Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System));
        }
        return (moved, sent);
    }
}
