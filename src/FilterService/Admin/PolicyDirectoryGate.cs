namespace FilterService.Admin;

/// <summary>
/// One writer at a time in the policy directory, in this process: a console edit (or revert) holds the gate while it
/// writes its files and records the change in the history; the hand-edit detector holds it while it compares the
/// directory with the last recorded state at reload. So a console edit is never also recorded as a "file edit", and
/// two console edits never interleave. A singleton.
/// </summary>
internal sealed class PolicyDirectoryGate
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        return new Releaser(_gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
