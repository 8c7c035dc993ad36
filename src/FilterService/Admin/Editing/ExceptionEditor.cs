using FilterService.Policy;
using NodaTime;
using PolicyModel.Diagnostics;
using PolicyModel.Documents;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Editing;

/// <summary>An exception as the form gives it. Exactly one of user or role; a category or hosts.</summary>
internal sealed record ExceptionForm(
    string Name, string? User, string? Role, string? Category, string? Hosts, string? From, string? Until, string? During, string Reason);

/// <summary>
/// Exceptions (issue 18): named, dated permissions, <c>granted_by</c> the signed-in admin. Added at the end of
/// <c>exceptions:</c>; ended now by setting <c>until</c> to this second (school time); removed with their comments.
/// An exception over a statutory category or host is refused by the loader (PM0402, PM0407), like a hand edit.
/// </summary>
internal sealed class ExceptionEditor(PolicyWriter writer, PolicyStore store, TimeProvider time)
{
    private static readonly object[] Path = ["exceptions"];

    /// <summary>The exceptions in the file, in order, as their YAML nodes (for the page).</summary>
    public IReadOnlyList<YamlMappingNode> List() => Layout()?.Get(Path) is YamlSequenceNode s ? s.Children.OfType<YamlMappingNode>().ToList() : [];

    /// <summary>The roles the policy declares (<c>roles:</c>), for the form's suggestions.</summary>
    public IReadOnlyList<string> Roles() => PolicyEdits.Scalars(Layout()?.Root, "roles");

    public Task<FormOutcome> AddAsync(ExceptionForm form, string who, string reason, CancellationToken cancellationToken = default)
    {
        var problem = Check(form);
        if (problem is not null)
        {
            return Task.FromResult(FormOutcome.Refused(problem));
        }
        var hosts = Split(form.Hosts);
        var map = YamlMap.Of(
            ("name", form.Name.Trim()),
            ("user", form.User?.Trim()),
            ("role", form.Role?.Trim()),
            ("allow", form.Category?.Trim()),
            ("hosts", hosts.Count > 0 ? hosts : null),
            ("from", form.From?.Trim()),
            ("until", form.Until?.Trim()),
            ("during", form.During?.Trim()),
            ("granted_by", who),
            ("reason", form.Reason.Trim()));
        return PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName,
            layout => layout.InsertItem(Path, layout.Get(Path) is YamlSequenceNode s ? s.Children.Count : 0, map),
            PolicyEdits.Item(Path, "name", form.Name.Trim()), cancellationToken: cancellationToken);
    }

    /// <summary>Ends the exception now: <c>until</c> becomes this second, school time. One not yet started is removed instead.</summary>
    public async Task<FormOutcome> EndNowAsync(string name, string who, string reason, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var local = Instant.FromDateTimeOffset(now).InZone(store.Current.TimeZone).LocalDateTime;
        var until = local.ToString("yyyy-MM-dd'T'HH:mm:ss", null);
        var outcome = await PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName, layout =>
            PolicyEdits.IndexOf(layout, Path, "name", name) is var i and >= 0
                ? layout.SetEntry([.. Path, i], "until", until)
                : YamlEdit.Refuse("name", $"no exception named '{name}'"),
            PolicyEdits.Item(Path, "name", name), cancellationToken: cancellationToken);
        // "until before from": it had not started; ending it now is removing it.
        return outcome.Outcome.Errors.Any(d => d.Code == "PM0404") ? await RemoveAsync(name, who, reason, cancellationToken) : outcome;
    }

    public Task<FormOutcome> RemoveAsync(string name, string who, string reason, CancellationToken cancellationToken = default) =>
        PolicyEdits.EditYamlAsync(writer, who, reason, PolicyLoader.FileName, layout =>
            PolicyEdits.IndexOf(layout, Path, "name", name) is var i and >= 0
                ? layout.RemoveItem(Path, i)
                : YamlEdit.Refuse("name", $"no exception named '{name}'"),
            cancellationToken: cancellationToken);

    private static Diagnostic? Check(ExceptionForm form)
    {
        if (string.IsNullOrWhiteSpace(form.Name))
        {
            return EditCodes.Error("name", EditCodes.BadValue, "the exception needs a name");
        }
        if (string.IsNullOrWhiteSpace(form.User) == string.IsNullOrWhiteSpace(form.Role))
        {
            return EditCodes.Error("user", EditCodes.BadValue, "give either a user or a role");
        }
        if (string.IsNullOrWhiteSpace(form.Category) == (Split(form.Hosts).Count == 0))
        {
            return EditCodes.Error("allow", EditCodes.BadValue, "give either a category or hosts");
        }
        if (string.IsNullOrWhiteSpace(form.Until))
        {
            return EditCodes.Error("until", EditCodes.BadValue, "every exception has an end date ('until')");
        }
        return string.IsNullOrWhiteSpace(form.Reason) ? EditCodes.Error("reason_text", EditCodes.BadValue, "say why the exception is granted") : null;
    }

    internal static IReadOnlyList<string> Split(string? text) =>
        (text ?? "").Split([',', ' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private YamlLayout? Layout()
    {
        try
        {
            return YamlLayout.Parse(writer.Read(PolicyLoader.FileName) ?? "");
        }
        catch (YamlDotNet.Core.YamlException)
        {
            return null;
        }
    }
}
