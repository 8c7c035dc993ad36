using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using static FilterService.Proxy.ConnectFlow;

namespace FilterService.Proxy;

/// <summary>A CONNECT over Kestrel's pipes: the I/O of each step of <see cref="ConnectFlow"/>, which decides and answers.</summary>
internal sealed partial class ConnectMiddleware
{
    private async Task HandleConnectAsync(ConnectionContext connection, ProxyRequest request, ReadDeadline deadline, long accepted)
    {
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;

        // Head, strictly, under a deadline Kestrel's own timeouts do not cover.
        ConnectHead? head = null;
        var error = HeadError.Incomplete;
        await ReadUntilAsync(input, deadline, HeadTimeLeft(accepted), (in ReadOnlySequence<byte> buffer, bool completed) =>
        {
            error = ConnectHeadParser.TryParse(buffer, _proxy.Options.MaxHeadBytes, out head);
            if (error == HeadError.Incomplete && !completed)
            {
                return null;
            }
            return head is null ? buffer.Start : buffer.GetPosition(head.Length);
        });
        if (head is null)
        {
            await RespondAsync(output, _flow.RefuseHead(request, error));
            return;
        }

        // Admit.
        var admit = await _flow.AdmitAsync(request, head);
        if (admit.Admission != Admission.Admitted)
        {
            await RespondAsync(output, _flow.RefuseAdmission(request, head, admit));
            return;
        }
        request = request.Admitted(admit.User);

        // Decide.
        var judged = _flow.Decide(request, head.Authority);
        switch (judged.Verdict)
        {
            case ConnectVerdict.BadTarget or ConnectVerdict.Blocked or ConnectVerdict.PortRefused:
                await RespondAsync(output, await _flow.RefuseAsync(request, head.Authority, judged));
                return;
            case ConnectVerdict.BlockPage:
                // Blocked, with a CA: answer 200 and terminate TLS, so the browser shows the block page, not a tunnel error
                // it retries. The alert is raised here, once; nothing is connected upstream.
                await _flow.AlertAsync(request, judged);
                await BumpAsync(connection, deadline, request, judged);
                return;
            case ConnectVerdict.Inspect:
                // Hosts whose rules need methods or paths are intercepted: the HTTP stage decides each request inside.
                await BumpAsync(connection, deadline, request, judged);
                return;
        }

        // Resolve, AddressPolicy, Connect.
        long connecting = _proxy.Time.GetTimestamp();
        var (socket, upstreamError, remote) = await _proxy.Upstream.ConnectAsync(judged.ConnectHost!, judged.Port, connection.ConnectionClosed);
        _flow.Connected(_proxy.Time.GetElapsedTime(connecting));
        if (socket is null)
        {
            await RespondAsync(output, _flow.UpstreamFailed(request, judged, upstreamError, remote));
            return;
        }
        using (socket)
        {
            // Established, then Hello.
            await output.WriteAsync(Established);
            var (hello, helloStatus) = await PeekHelloAsync(input, deadline);
            if (!_flow.CheckHello(request, judged, helloStatus, hello, remote))
            {
                return;
            }

            // Splice.
            var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
            using var active = _proxy.Metrics?.TrackTunnel();
            var (fromClient, toClient) = await Tunnel.SpliceAsync(connection, socket, _proxy.Options.TunnelIdleTimeout, _proxy.Options.SocketSplice,
                _proxy.Time, lifetime?.ConnectionClosedRequested ?? CancellationToken.None);
            _flow.Spliced(request, judged, remote!, fromClient, toClient);
        }
    }

    /// <summary>Inspect or BlockPage: the 200, the ClientHello check, then TLS with a minted leaf and the HTTP stage.</summary>
    private async Task BumpAsync(ConnectionContext connection, ReadDeadline deadline, ProxyRequest request, ConnectJudgement judged)
    {
        await connection.Transport.Output.WriteAsync(Established);
        var (hello, helloStatus) = await PeekHelloAsync(connection.Transport.Input, deadline);
        if (!_flow.CheckHello(request, judged, helloStatus, hello, upstream: null))
        {
            return;
        }
        connection.Features.Set(_flow.Bumped(request, judged));
        // TLS with a minted certificate, then Kestrel's HTTP/1.1 and the HTTP stage (which, for a block page, answers
        // every request with it).
        await _next(connection);
    }

    /// <summary>Peeks the ClientHello under its deadline, consuming nothing: it goes upstream untouched.</summary>
    private async Task<(ClientHelloInfo?, HelloStatus)> PeekHelloAsync(PipeReader input, ReadDeadline deadline)
    {
        ClientHelloInfo? info = null;
        var status = HelloStatus.Incomplete;
        var inTime = await ReadUntilAsync(input, deadline, _proxy.Options.ClientHelloTimeout, (in ReadOnlySequence<byte> buffer, bool completed) =>
        {
            status = ClientHelloParser.TryParse(buffer, out info);
            return status == HelloStatus.Incomplete && !completed ? null : buffer.Start;
        });
        return inTime ? (info, status) : (null, HelloStatus.Incomplete);
    }

    private static async ValueTask RespondAsync(PipeWriter output, byte[] response)
    {
        try
        {
            await output.WriteAsync(response);
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or OperationCanceledException or InvalidOperationException)
        {
            // The client went away; nothing to answer.
        }
    }

}
