using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;

namespace FilterService.Audit;

/// <summary>
/// Sends a copy of every audit record to a syslog collector (<c>Audit:Syslog</c>): RFC 5424 messages
/// (<see cref="SyslogFormatter"/>) over TCP with octet-counting framing (RFC 6587), or over TLS (RFC 5425).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Enqueue"/> runs on the request's thread (from <see cref="AuditLog.OnDecision"/>, after the record went to
/// the audit file): it puts the record in a bounded queue and never waits. One loop of its own formats and writes
/// batches. While the collector is away the loop reconnects with backoff (0.5 s doubling to
/// <see cref="SyslogOptions.MaxReconnectDelay"/>) and records wait in the queue; a record that finds the queue full is
/// dropped and counted, never silently. A batch whose write failed is sent again after reconnecting (a collector may
/// see it twice). Plain TCP syslog has no acknowledgements, so records written in the instant between the collector
/// closing and this loop noticing it (it keeps a read pending, which ends on the collector's FIN) can be lost without
/// an error; the audit file is the record of truth.
/// </para>
/// <para>
/// State for /health and the meter <c>FilterService.Audit</c>: <see cref="Connected"/>, <see cref="Sent"/>,
/// <see cref="Dropped"/>, <see cref="Errors"/>, <see cref="Queued"/>, <see cref="LastError"/>.
/// </para>
/// </remarks>
internal sealed partial class SyslogExporter : IDisposable
{
    private const int BatchRecords = 256;
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ShutdownWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private readonly SyslogOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<object> _queue; // DecisionRecord, or AdminEvent (rare)
    private readonly SyslogFormatter _formatter;
    private readonly X509Certificate2Collection? _trusted;
    private readonly X509Certificate2Collection? _clientCertificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<object> _pending = new(BatchRecords);
    private readonly ArrayBufferWriter<byte> _batch = new(64 * 1024);

    private long _sent;
    private long _dropped;
    private long _errors;
    private int _dropping;
    private volatile bool _connected;
    private volatile string? _lastError = "not connected yet";
    private long _sinceUtcTicks; // a long, so /health never reads a torn value

    public SyslogExporter(SyslogOptions options, ILogger logger, TimeProvider? time = null)
    {
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _sinceUtcTicks = _time.GetUtcNow().UtcTicks;
        _queue = Channel.CreateBounded<object>(new BoundedChannelOptions(options.QueueSize)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails at once: the record is counted, nobody waits
        });
        _formatter = new SyslogFormatter(options.FacilityCode, System.Net.Dns.GetHostName(), options.AppName, Environment.ProcessId);
        if (options.Transport == SyslogTransport.Tls && options.CaFile is { } ca)
        {
            _trusted = [];
            _trusted.ImportFromPemFile(ca);
        }
        if (options.Transport == SyslogTransport.Tls && options.ClientCertificate is { } cert && options.ClientKey is { } key)
        {
            _clientCertificate = [X509Certificate2.CreateFromPemFile(cert, key)];
        }
        _loop = Task.Run(RunAsync);
    }

    /// <summary><c>tcp://host:port</c> or <c>tls://host:port</c>, for /health and the log.</summary>
    public string Target => $"{_options.Transport.ToString().ToLowerInvariant()}://{_options.Host}:{_options.EffectivePort}";

    public bool Connected => _connected;

    /// <summary>Since when <see cref="Connected"/> has had its value.</summary>
    public DateTimeOffset Since => new(Interlocked.Read(ref _sinceUtcTicks), TimeSpan.Zero);

    /// <summary>Why the last connection or write failed (null while connected).</summary>
    public string? LastError => _connected ? null : _lastError;

    /// <summary>Records written to the collector.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Records never sent: the queue was full, or they were still queued when the service stopped.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Failed connection attempts and writes.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Records waiting to be sent.</summary>
    public long Queued => _queue.Reader.Count + Volatile.Read(ref _pendingCount);

    private int _pendingCount;

    /// <summary>Queues a record; never waits. Called on the request's thread.</summary>
    public void Enqueue(DecisionRecord record) => EnqueueRecord(record);

    /// <summary>Queues an admin's action in the console (<see cref="AdminEvent"/>); never waits.</summary>
    public void Enqueue(AdminEvent record) => EnqueueRecord(record);

    private void EnqueueRecord(object record)
    {
        if (_queue.Writer.TryWrite(record))
        {
            return;
        }
        Interlocked.Increment(ref _dropped);
        if (Interlocked.Exchange(ref _dropping, 1) == 0)
        {
            LogQueueFull(_logger, Target, _options.QueueSize);
        }
    }

    public void Publish(Meter meter)
    {
        meter.CreateObservableGauge("filterservice.audit.syslog.connected", () => Connected ? 1L : 0L, "1",
            "1 while audit records are being sent to the syslog collector (Audit:Syslog), 0 while it cannot be reached.");
        meter.CreateObservableGauge("filterservice.audit.syslog.queued.records", () => Queued, "{record}",
            "Audit records waiting to be sent to the syslog collector.");
        meter.CreateObservableCounter("filterservice.audit.syslog.sent", () => Sent, "{record}",
            "Audit records written to the syslog collector.");
        meter.CreateObservableCounter("filterservice.audit.syslog.dropped", () => Dropped, "{record}",
            "Audit records never sent to the syslog collector (its queue was full, or the service stopped with them queued). They are in the audit file.");
        meter.CreateObservableCounter("filterservice.audit.syslog.errors", () => Errors, "{error}",
            "Failed connections and writes to the syslog collector.");
    }

    private async Task RunAsync()
    {
        var backoff = FirstRetry;
        var stopping = _stop.Token;
        bool reported = false;
        while (!stopping.IsCancellationRequested)
        {
            Stream? stream = null;
            try
            {
                stream = await ConnectAsync(stopping);
                if (await SendAsync(stream, stopping, () =>
                    {
                        SetConnected(true, null);
                        LogConnected(_logger, Target);
                        backoff = FirstRetry;
                        reported = false;
                    }))
                {
                    return; // the queue is complete and empty: stopped
                }
                throw new IOException("the collector closed the connection");
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Expected: IOException, SocketException, AuthenticationException, a connect timeout. Anything else is a
                // bug, logged with its stack; the loop goes on either way (an export that stopped would be a silent hole).
                if (ex is not (IOException or SocketException or AuthenticationException or OperationCanceledException or ObjectDisposedException))
                {
                    LogUnexpected(_logger, ex, Target);
                }
                Interlocked.Increment(ref _errors);
                bool wasConnected = _connected;
                SetConnected(false, Describe(ex));
                if (wasConnected)
                {
                    LogDisconnected(_logger, Target, _lastError!, Queued);
                }
                else if (!reported)
                {
                    LogCannotConnect(_logger, Target, _lastError!); // once per outage, not every retry
                }
                reported = true;
            }
            finally
            {
                if (stream is not null)
                {
                    await stream.DisposeAsync();
                }
            }
            try
            {
                await Task.Delay(backoff, _time, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxReconnectDelay.Ticks));
        }
    }

    private void SetConnected(bool connected, string? error)
    {
        if (error is not null)
        {
            _lastError = error;
        }
        if (_connected != connected)
        {
            Interlocked.Exchange(ref _sinceUtcTicks, _time.GetUtcNow().UtcTicks);
            _connected = connected;
        }
    }

    /// <summary>
    /// Writes batches until the connection fails (an exception), the collector closes it (false) or the queue is
    /// complete and empty (true). Records taken from the queue stay in <see cref="_pending"/> until written.
    /// </summary>
    private async Task<bool> SendAsync(Stream stream, CancellationToken stopping, Action connected)
    {
        // A collector never sends: a read that ends means it closed (or reset) the connection.
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var watch = WatchForCloseAsync(stream, closed);
        try
        {
            // A collector that refuses us after accepting (with TLS 1.3, one that wants a client certificate decides
            // after the handshake; one at its session limit) closes at once: nothing is sent until it has not.
            await Task.WhenAny(watch, Task.Delay(Settle, _time, closed.Token));
            stopping.ThrowIfCancellationRequested();
            // Not watch.IsCompleted: the watch cancels `closed` before its own task ends, and that cancellation ends the
            // delay, so this line can run while the watch is still returning. Seen as a refused session reported as a
            // generic close, after a false "connected".
            if (closed.IsCancellationRequested)
            {
                throw new IOException("the collector closed the connection as soon as it was opened"
                    + (_options.Transport == SyslogTransport.Tls && _clientCertificate is null
                        ? " (does it require a client certificate? Audit:Syslog:ClientCertificate)" : ""));
            }
            connected();
            return await SendUntilClosedAsync(stream, watch, closed.Token);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            throw new IOException("the collector closed the connection");
        }
    }

    private async Task<bool> SendUntilClosedAsync(Stream stream, Task watch, CancellationToken closed)
    {
        while (true)
        {
            if (_pending.Count == 0)
            {
                if (!await _queue.Reader.WaitToReadAsync(closed))
                {
                    return true;
                }
                while (_pending.Count < BatchRecords && _queue.Reader.TryRead(out var record))
                {
                    _pending.Add(record);
                }
                Volatile.Write(ref _pendingCount, _pending.Count);
                Volatile.Write(ref _dropping, 0);
            }
            if (watch.IsCompleted)
            {
                return false;
            }
            _batch.ResetWrittenCount();
            foreach (var record in _pending)
            {
                if (record is AdminEvent admin)
                {
                    _formatter.Write(admin, _batch);
                    continue;
                }
                _formatter.Write((DecisionRecord)record, _batch);
            }
            await stream.WriteAsync(_batch.WrittenMemory, closed);
            await stream.FlushAsync(closed);
            Interlocked.Add(ref _sent, _pending.Count);
            _pending.Clear();
            Volatile.Write(ref _pendingCount, 0);
        }
    }

    private static async Task WatchForCloseAsync(Stream stream, CancellationTokenSource closed)
    {
        var buffer = new byte[256];
        try
        {
            while (await stream.ReadAsync(buffer, closed.Token) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
        }
        try
        {
            closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Sends what is queued for up to 5 s if connected, then stops; what is left is counted as dropped and logged.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
#pragma warning disable RS0030 // bounds a disposal in real time: it must end even while a test's fake clock stands still
        if (!_connected || !_loop.Wait(ShutdownWait))
        {
            _stop.Cancel();
            try
            {
                _loop.Wait(ShutdownWait);
#pragma warning restore RS0030
            }
            catch (AggregateException)
            {
                // Cancelled: what is left is counted below.
            }
        }
        long left = Queued;
        if (left > 0)
        {
            Interlocked.Add(ref _dropped, left);
            LogLeftUnsent(_logger, left, Target);
        }
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 1420, Level = LogLevel.Information, Message = "Sending audit records to syslog at {Target}")]
    private static partial void LogConnected(ILogger logger, string target);

    [LoggerMessage(EventId = 1421, Level = LogLevel.Error, Message = "Lost the syslog connection to {Target}: {Error}; {Queued} audit record(s) queued, reconnecting")]
    private static partial void LogDisconnected(ILogger logger, string target, string error, long queued);

    [LoggerMessage(EventId = 1422, Level = LogLevel.Warning, Message = "Cannot connect to the syslog collector at {Target}: {Error}; retrying")]
    private static partial void LogCannotConnect(ILogger logger, string target, string error);

    [LoggerMessage(EventId = 1423, Level = LogLevel.Error, Message = "The syslog queue for {Target} is full ({QueueSize} records): audit records are dropped from the export and counted (they are in the audit file)")]
    private static partial void LogQueueFull(ILogger logger, string target, int queueSize);

    [LoggerMessage(EventId = 1425, Level = LogLevel.Error, Message = "Unexpected failure sending audit records to syslog at {Target}; retrying")]
    private static partial void LogUnexpected(ILogger logger, Exception ex, string target);

    [LoggerMessage(EventId = 1424, Level = LogLevel.Error, Message = "Stopped with {Count} audit record(s) not sent to syslog at {Target} (they are in the audit file)")]
    private static partial void LogLeftUnsent(ILogger logger, long count, string target);
}
