namespace FilterService.Policy;

/// <summary>The policy directory (section <c>Policy</c>).</summary>
internal sealed class PolicyOptions
{
    /// <summary>The directory holding policy.yaml. Default deploy/samples/default.</summary>
    public string Path { get; set; } = "deploy/samples/default";

    /// <summary>Whether edits in the directory are picked up automatically (SIGHUP always reloads).</summary>
    public bool Watch { get; set; } = true;

    /// <summary>Quiet time after the last file change before reloading, so an editor's save is read once. Default 500 ms.</summary>
    public TimeSpan ReloadDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// A statutory list whose entry count falls below this fraction of its last good count is refused unless
    /// confirmed (<c>lists confirm</c>). Default 0.9: a truncated download loses far more than 10%; a real update
    /// rarely removes that much at once.
    /// </summary>
    public double StatutoryShrinkFraction { get; set; } = 0.9;

    /// <summary>A statutory list with fewer entries than this is refused unless confirmed. Default 0 (off).</summary>
    public int StatutoryMinEntries { get; set; }
}
