using PolicyModel.Decisions;

namespace PolicyModel.Documents;

/// <summary>The outcome of loading a policy directory: a snapshot if there were no errors, and every diagnostic.</summary>
public sealed record PolicyLoadResult(PolicySnapshot? Snapshot, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Succeeded => Snapshot is not null;
}

public static class PolicyLoader
{
    /// <summary>Loads, validates and compiles <c>DIR/policy.yaml</c> and every file it names. Never throws for bad input.</summary>
    public static PolicyLoadResult Load(string directory) => throw new NotImplementedException();
}
