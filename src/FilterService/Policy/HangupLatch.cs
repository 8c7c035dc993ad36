using System.Runtime.InteropServices;

namespace FilterService.Policy;

/// <summary>
/// SIGHUP from the first moment the service starts building. Nothing handles SIGHUP until the
/// <see cref="PolicyWatcher"/> starts, seconds later on a large list, and a SIGHUP nothing handles ends the process:
/// a logrotate <c>postrotate</c> or a <c>systemctl reload</c> racing a restart killed the service. This registration is
/// made before the host is built; a HUP that arrives before the watcher is <see cref="Attach">attached</see> is kept
/// and the watcher reloads once for it, and every later one goes straight to the watcher.
/// <para>
/// A service started with SIGHUP ignored (<c>nohup filterservice &amp;</c>, or a supervisor that ignores it) inherits
/// that, and .NET keeps an inherited ignore: its handler is never installed, so SIGHUP would silently stop reloading.
/// SIGHUP means reload here, as it does to nginx and Squid, so the latch takes the signal back first
/// (<see cref="TookBackFromIgnore"/>, which the watcher logs). A hangup from a closing terminal then reloads the policy
/// instead of being ignored, which is harmless.
/// </para>
/// </summary>
internal sealed partial class HangupLatch : IDisposable
{
    private const int SigHup = 1;
    private const nint SigDfl = 0;
    private const string StatusPath = "/proc/self/status";

    private readonly Lock _gate = new();
    private readonly PosixSignalRegistration _registration;
    private Action? _handler;
    private bool _pending;

    private HangupLatch()
    {
        // Between the reset and the registration a SIGHUP would end the process: microseconds, once, at start.
        if (OperatingSystem.IsLinux() && IgnoredAtStart(File.Exists(StatusPath) ? File.ReadAllText(StatusPath) : ""))
        {
            TookBackFromIgnore = signal(SigHup, SigDfl) != -1;
        }
        _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
    }

    /// <summary>SIGHUP was ignored when the process started, and the latch set it back so that it reloads.</summary>
    public bool TookBackFromIgnore { get; }

    /// <summary>Whether a <c>/proc/PID/status</c> text's <c>SigIgn</c> mask has SIGHUP (signal 1, the lowest bit).</summary>
    internal static bool IgnoredAtStart(string status)
    {
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
            {
                return ulong.TryParse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var mask)
                    && (mask & 1UL << (SigHup - 1)) != 0;
            }
        }
        return false;
    }

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

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint signal(int signum, nint handler);
}
