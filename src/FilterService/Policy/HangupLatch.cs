using System.Runtime.InteropServices;

namespace FilterService.Policy;

/// <summary>
/// SIGHUP from the first moment the service starts building. Nothing handles SIGHUP until the
/// <see cref="PolicyWatcher"/> starts, seconds later on a large list, and a SIGHUP nothing handles ends the process:
/// a logrotate <c>postrotate</c> or a <c>systemctl reload</c> racing a restart killed the service. This registration is
/// made before the host is built; a HUP that arrives before the watcher is <see cref="Attach">attached</see> is kept
/// and the watcher reloads once for it, and every later one goes straight to the watcher.
/// </summary>
internal sealed class HangupLatch : IDisposable
{
    private readonly Lock _gate = new();
    private readonly PosixSignalRegistration _registration;
    private Action? _handler;
    private bool _pending;

    private HangupLatch() => _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);

    /// <summary>The latch, registered now; null on Windows, which has no SIGHUP.</summary>
    public static HangupLatch? Register() => OperatingSystem.IsWindows() ? null : new HangupLatch();

    /// <summary>Sends every later SIGHUP to <paramref name="handler"/> (on the thread pool); true if one came before.</summary>
    public bool Attach(Action handler)
    {
        lock (_gate)
        {
            _handler = handler;
            bool pending = _pending;
            _pending = false;
            return pending;
        }
    }

    /// <summary>Stops handing signals on (the watcher has stopped); a HUP after this is kept, never fatal.</summary>
    public void Detach()
    {
        lock (_gate)
        {
            _handler = null;
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Action? handler;
        lock (_gate)
        {
            handler = _handler;
            _pending |= handler is null;
        }
        if (handler is not null)
        {
            ThreadPool.QueueUserWorkItem(_ => handler());
        }
    }

    public void Dispose() => _registration.Dispose();
}
