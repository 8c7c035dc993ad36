using PolicyModel.Documents;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Editing;

/// <summary>A rule as the form gives it; lists are comma- or space-separated.</summary>
internal sealed record RuleForm(
    string Name, string? Description, string? Roles, string? Users, string? Networks, string? Categories, string? Hosts,
    string? Methods, string? Paths, string? During, string? Outside, string Action, string? Alert);

/// <summary>
/// Rules (order, enable or disable, conditions, action) and denied users. Moving a rule moves its text with the
/// comments above it; switching it off adds <c>enabled: false</c> (one line) and switching it on removes that line;
/// saving a rule rewrites that rule's own lines only. An allow rule over a statutory category or host is refused by
/// the loader (PM0402, PM0407), as a hand edit is.
/// </summary>
internal sealed class RuleEditor(PolicyWriter writer)
{
    private static readonly object[] Rules = ["rules"];
    private static readonly object[] Denied = ["denied_users"];

    public IReadOnlyList<YamlMappingNode> List() => Nodes(Rules);

    public IReadOnlyList<YamlMappingNode> DeniedUsers() => Nodes(Denied);

    public Task<FormOutcome> MoveAsync(string name, int to, string who, string reason, CancellationToken cancellationToken = default) =>
        Edit(who, reason, name, (layout, i) =>
            layout.Get(Rules) is YamlSequenceNode s && to >= 0 && to < s.Children.Count ? layout.MoveItem(Rules, i, to) : YamlEdit.Refuse("position", $"no position {to + 1}"),
            cancellationToken);

    public Task<FormOutcome> SetEnabledAsync(string name, bool enabled, string who, string reason, CancellationToken cancellationToken = default) =>
        Edit(who, reason, name, (layout, i) => layout.SetEntry([.. Rules, i], "enabled", enabled ? null : false), cancellationToken);

    public Task<FormOutcome> RemoveAsync(string name, string who, string reason, CancellationToken cancellationToken = default) =>
        Edit(who, reason, name, (layout, i) => layout.RemoveItem(Rules, i), cancellationToken);

    /// <summary>Saves <paramref name="form"/> over rule <paramref name="original"/>, or as a new last rule when it is null.</summary>
    public Task<FormOutcome> SaveAsync(string? original, RuleForm form, string who, string reason, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(form.Name))
        {
            return Task.FromResult(FormOutcome.Refused(EditCodes.Error("name", EditCodes.BadValue, "the rule needs a name")));
        }
        static object? List(string? text) => ExceptionEditor.Split(text) is { Count: > 0 } l ? l : null;
        var categories = ExceptionEditor.Split(form.Categories);
        var map = YamlMap.Of(
            ("name", form.Name.Trim()),
            ("description", form.Description?.Trim()),
            ("roles", List(form.Roles)),
            ("users", List(form.Users)),
            ("networks", List(form.Networks)),
            (categories.Count == 1 ? "category" : "categories", categories.Count == 1 ? categories[0] : List(form.Categories)),
            ("hosts", List(form.Hosts)),
            ("methods", List(form.Methods)),
            ("paths", List(form.Paths)),
            ("during", form.During?.Trim()),
            ("outside", form.Outside?.Trim()),
            ("action", form.Action.Trim()),
            ("alert", form.Alert?.Trim()));
        return PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName, layout =>
        {
            if (original is null)
            {
                return layout.InsertItem(Rules, layout.Get(Rules) is YamlSequenceNode s ? s.Children.Count : 0, map);
            }
            var i = PolicyEdits.IndexOf(layout, Rules, "name", original);
            if (i < 0)
            {
                return YamlEdit.Refuse("name", $"no rule named '{original}'");
            }
            // A switched-off rule stays switched off when its conditions are edited.
            var disabled = PolicyEdits.Scalar(layout.Get([.. Rules, i]), "enabled") is { } e && e.Equals("false", StringComparison.OrdinalIgnoreCase);
            return layout.ReplaceItem(Rules, i, disabled ? new YamlMap([.. map.Entries, new("enabled", false)]) : map);
        }, PolicyEdits.Item(Rules, "name", form.Name.Trim()), cancellationToken: cancellationToken);
    }

    public Task<FormOutcome> AddDeniedAsync(string user, string why, string who, string reason, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(user) || string.IsNullOrWhiteSpace(why))
        {
            return Task.FromResult(FormOutcome.Refused(EditCodes.Error(string.IsNullOrWhiteSpace(user) ? "user" : "why", EditCodes.BadValue, "give the user and why they are denied")));
        }
        return PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName,
            layout => layout.InsertItem(Denied, layout.Get(Denied) is YamlSequenceNode s ? s.Children.Count : 0,
                YamlMap.Of(("user", user.Trim()), ("reason", why.Trim()), ("by", who))),
            PolicyEdits.Item(Denied, "user", user.Trim()), cancellationToken: cancellationToken);
    }

    public Task<FormOutcome> RemoveDeniedAsync(string user, string who, string reason, CancellationToken cancellationToken = default) =>
        PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName, layout =>
            PolicyEdits.IndexOf(layout, Denied, "user", user) is var i and >= 0 ? layout.RemoveItem(Denied, i) : YamlEdit.Refuse("user", $"'{user}' is not a denied user"),
            cancellationToken: cancellationToken);

    private Task<FormOutcome> Edit(string who, string reason, string name, Func<YamlLayout, int, YamlEdit> edit, CancellationToken cancellationToken) =>
        PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName, layout =>
            PolicyEdits.IndexOf(layout, Rules, "name", name) is var i and >= 0 ? edit(layout, i) : YamlEdit.Refuse("name", $"no rule named '{name}'"),
            PolicyEdits.Item(Rules, "name", name), cancellationToken: cancellationToken);

    private IReadOnlyList<YamlMappingNode> Nodes(object[] path)
    {
        try
        {
            return YamlLayout.Parse(writer.Read(PolicyLoader.FileName) ?? "").Get(path) is YamlSequenceNode s ? s.Children.OfType<YamlMappingNode>().ToList() : [];
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return [];
        }
    }
}
