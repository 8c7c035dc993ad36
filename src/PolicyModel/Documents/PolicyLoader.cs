using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;

namespace PolicyModel.Documents;

/// <summary>The outcome of loading a policy directory: a snapshot if there were no errors, and every diagnostic.</summary>
public sealed record PolicyLoadResult(PolicySnapshot? Snapshot, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Succeeded => Snapshot is not null;

    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);

    /// <summary>The feeds whose keys compiled, even when the policy did not load (a feed's list not fetched yet is PM0201): <c>lists update</c> fetches them.</summary>
    public IReadOnlyList<FeedSpec> Feeds { get; init; } = [];
}

public static class PolicyLoader
{
    public const string FileName = "policy.yaml";

    /// <summary>
    /// Loads, validates and compiles <c>DIR/policy.yaml</c> and every file it names. Collects every problem;
    /// never throws for bad input. <paramref name="clock"/> (for "this exception has expired" warnings) defaults to the system clock.
    /// </summary>
    public static PolicyLoadResult Load(string directory, TimeProvider? clock = null)
    {
        var diagnostics = new DiagnosticBag();
        var path = Path.Combine(directory, FileName);
        var check = PolicyFiles.Inspect(path, PolicyFiles.MaxYamlBytes);
        if (check == PolicyFiles.Check.NotFound)
        {
            diagnostics.Error(new SourceLocation(FileName, 0, 0), Messages.NoPolicyFile, FileName, directory);
            return new PolicyLoadResult(null, diagnostics.Items);
        }

        using var files = new PolicyFileReader(directory);
        string? text;
        try
        {
            text = check == PolicyFiles.Check.Ok ? PolicyFiles.ReadBounded(path, PolicyFiles.MaxYamlBytes, files.Observe, FileName) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics.Error(new SourceLocation(FileName, 0, 0), Messages.PolicyFileUnreadable, FileName, e.Message);
            return new PolicyLoadResult(null, diagnostics.Items);
        }

        if (text is null)
        {
            var at = new SourceLocation(FileName, 0, 0);
            if (check == PolicyFiles.Check.NotRegular)
            {
                diagnostics.Error(at, Messages.PolicyFileNotRegular, FileName);
            }
            else
            {
                diagnostics.Error(at, Messages.PolicyFileTooLarge, FileName, PolicyFiles.Size(PolicyFiles.MaxYamlBytes));
            }
            return new PolicyLoadResult(null, diagnostics.Items);
        }

        var (source, root) = YamlSource.Parse(FileName, text, diagnostics);
        if (root is null)
        {
            if (!diagnostics.HasErrors)
            {
                diagnostics.Error(new SourceLocation(FileName, 1, 1), Messages.PolicyFileEmpty);
            }

            return new PolicyLoadResult(null, diagnostics.Items);
        }

        var context = new CompileContext(source, files, (clock ?? TimeProvider.System).GetUtcNow());
        var compiled = PolicyCompiler.Compile(context, root);
        return new PolicyLoadResult(compiled is null || diagnostics.HasErrors ? null : new PolicySnapshot(compiled), diagnostics.Items) { Feeds = context.Feeds };
    }
}
