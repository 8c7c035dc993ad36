using FilterService.Admin.History;
using PolicyModel.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Editing;

/// <summary>One YAML edit: the new layout, or why it cannot be made (an unknown name, say), located.</summary>
internal readonly record struct YamlEdit(YamlLayout? After, Diagnostic? Problem)
{
    public static implicit operator YamlEdit(YamlLayout after) => new(after, null);

    public static YamlEdit Refuse(string field, string message) => new(null, EditCodes.Error(field, EditCodes.BadValue, message));
}

/// <summary>A console edit's outcome for a form: the outcome, and its diagnostics by the form field they belong to.</summary>
internal sealed record FormOutcome(EditOutcome Outcome, IReadOnlyDictionary<string, IReadOnlyList<Diagnostic>> ByField)
{
    public bool Applied => Outcome.Applied;

    /// <summary>Diagnostics for <paramref name="field"/> (a key such as <c>role</c> or <c>weekly.mon-fri</c>); "" holds the rest.</summary>
    public IReadOnlyList<Diagnostic> For(string field) => ByField.TryGetValue(field, out var list) ? list : [];

    public static FormOutcome Refused(Diagnostic d) => new(EditOutcome.Refused(d), new Dictionary<string, IReadOnlyList<Diagnostic>> { [d.Location.File] = [d] });
}

/// <summary>
/// Shared steps of the console's edits of a YAML file: read it (the edit's <c>Before</c>), edit its layout, hand the
/// result to <see cref="PolicyWriter"/>, and place each diagnostic next to the form field whose YAML it points at.
/// </summary>
internal static class PolicyEdits
{
    /// <summary>
    /// Edits <paramref name="file"/> (policy.yaml or a term calendar) with <paramref name="edit"/> and applies it with
    /// <paramref name="extra"/> files as one change. <paramref name="item"/> finds, in the edited layout, the node the
    /// form edits, for placing diagnostics.
    /// </summary>
    public static async Task<FormOutcome> EditYamlAsync(
        PolicyWriter writer, string who, string reason, string file, Func<YamlLayout, YamlEdit> edit,
        Func<YamlLayout, YamlNode?>? item = null, IReadOnlyList<FileChange>? extra = null, CancellationToken cancellationToken = default)
    {
        var before = writer.Read(file) ?? "";
        YamlLayout layout;
        try
        {
            layout = YamlLayout.Parse(before);
        }
        catch (YamlException e)
        {
            return FormOutcome.Refused(EditCodes.Error(file, "PM0100", $"the file does not parse ({e.Message}); fix it by hand first", (int)e.Start.Line, (int)e.Start.Column));
        }
        var result = edit(layout);
        if (result.Problem is { } problem)
        {
            return FormOutcome.Refused(problem);
        }
        var after = result.After!;
        var outcome = await writer.ApplyAsync(new PolicyChange(who, reason, ChangeSource.Console, [new FileChange(file, before, after.Text), .. extra ?? []]), cancellationToken);
        return new FormOutcome(outcome, ByField(outcome.Diagnostics, file, after, item?.Invoke(after)));
    }

    /// <summary>
    /// Groups errors by the key of <paramref name="node"/> whose text they point at (the deepest, dotted:
    /// <c>weekly.mon-fri</c>); anything else under "". A diagnostic in another file keeps its file as the field.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<Diagnostic>> ByField(IEnumerable<Diagnostic> diagnostics, string file, YamlLayout? layout, YamlNode? node)
    {
        var byField = new Dictionary<string, List<Diagnostic>>(StringComparer.Ordinal);
        // Errors only: a warning the loader gives (a skipped list line) is the policy's, not this form's; the overview shows them.
        foreach (var d in diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error))
        {
            var field = d.Location.File != file ? d.Location.File : node is null || layout is null ? "" : FieldAt(layout, node, d.Location.Line, d.Location.Column, "") ?? "";
            (byField.TryGetValue(field, out var list) ? list : byField[field] = []).Add(d);
        }
        return byField.ToDictionary(p => p.Key, p => (IReadOnlyList<Diagnostic>)p.Value, StringComparer.Ordinal);
    }

    private static string? FieldAt(YamlLayout layout, YamlNode node, int line, int column, string prefix)
    {
        if (node is not YamlMappingNode map)
        {
            return null;
        }
        foreach (var (key, value) in map.Children)
        {
            var name = prefix + (key as YamlScalarNode)?.Value;
            if (layout.Covers(key, line, column))
            {
                return name;
            }
            if (layout.Covers(value, line, column))
            {
                return FieldAt(layout, value, line, column, name + ".") ?? name;
            }
        }
        // On the item's own line but not on a key: the whole item (the name line, where "every rule needs" points).
        return map.Children.Count > 0 && line == map.Start.Line ? (map.Children.Keys.First() as YamlScalarNode)?.Value : null;
    }

    /// <summary>The index of the item of the sequence at <paramref name="path"/> whose <paramref name="key"/> is <paramref name="value"/>, or -1.</summary>
    public static int IndexOf(YamlLayout layout, object[] path, string key, string value) =>
        layout.Get(path) is YamlSequenceNode seq
            ? seq.Children.ToList().FindIndex(c => c is YamlMappingNode m && m.Children.Any(e => e.Key is YamlScalarNode { Value: var k } && k == key && e.Value is YamlScalarNode { Value: var v } && v == value))
            : -1;

    /// <summary>The item of the sequence at <paramref name="path"/> whose <paramref name="key"/> is <paramref name="value"/>.</summary>
    public static Func<YamlLayout, YamlNode?> Item(object[] path, string key, string value) =>
        layout => IndexOf(layout, path, key, value) is var i and >= 0 ? layout.Get([.. path, i]) : null;

    /// <summary>A scalar of a mapping node, or null.</summary>
    public static string? Scalar(YamlNode? node, string key) =>
        node is YamlMappingNode m && m.Children.FirstOrDefault(e => e.Key is YamlScalarNode { Value: var k } && k == key).Value is YamlScalarNode s ? s.Value : null;

    /// <summary>A scalar or list of scalars of a mapping node, as a list.</summary>
    public static IReadOnlyList<string> Scalars(YamlNode? node, string key) =>
        node is YamlMappingNode m && m.Children.FirstOrDefault(e => e.Key is YamlScalarNode { Value: var k } && k == key).Value is { } v
            ? v switch
            {
                YamlScalarNode { Value: { } s } => [s],
                YamlSequenceNode seq => seq.Children.OfType<YamlScalarNode>().Select(c => c.Value ?? "").ToList(),
                _ => [],
            }
            : [];
}
