using Serilog.Extensions.Logging;

namespace FilterService.OperationalLog;

/// <summary>
/// Serilog's provider, closed with a bound: closing the logger drains each sink's queue, and a sink stuck in a write
/// (a hung disk, a console pipe nobody reads) would hold the service's stop for ever. After
/// <see cref="CloseTimeout"/> the stop goes on and what is still queued is lost (it was counted as queued).
/// </summary>
[ProviderAlias("Serilog")]
internal sealed class ClosingSerilogProvider(Serilog.Core.Logger logger) : ILoggerProvider, ISupportExternalScope
{
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly SerilogLoggerProvider _inner = new(logger, dispose: false);

    public ILogger CreateLogger(string categoryName) => _inner.CreateLogger(categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _inner.SetScopeProvider(scopeProvider);

    public void Dispose()
    {
        _inner.Dispose();
        // Waits on a worker, not on the caller's thread, so a stuck sink cannot keep the process alive (it is a background thread).
        var close = new Thread(logger.Dispose) { IsBackground = true, Name = "operational log close" };
        close.Start();
#pragma warning disable RS0030 // bounds a disposal in real time: it must end even while a test's fake clock stands still
        close.Join(CloseTimeout);
#pragma warning restore RS0030
    }
}
