using Microsoft.Extensions.Logging;

namespace FilterService.Tests.TestSupport;

/// <summary>Keeps every entry logged to it, for tests that check what a component reported.</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    public List<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Entries)
        {
            Entries.Add((logLevel, formatter(state, exception)));
        }
    }

    public List<(LogLevel Level, string Message)> Snapshot()
    {
        lock (Entries)
        {
            return Entries.ToList();
        }
    }
}
