using FilterService.Admin.Editing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Pages.Editing;

/// <summary>One rule as the table shows it.</summary>
internal sealed record RuleRow(string Name, string Conditions, string Action, bool Enabled, YamlMappingNode Node);

/// <summary>Rules: order (up, down), enable or disable, remove, and the form that edits one rule's conditions and action.</summary>
internal sealed class RulesModel(RuleEditor editor, IAuthorizationService authorization) : EditingPageModel(authorization)
{
    private static readonly string[] Conditions = ["roles", "users", "networks", "category", "categories", "hosts", "methods", "paths", "during", "outside"];

    public IReadOnlyList<RuleRow> Rules { get; private set; } = [];

    /// <summary>The rule the form edits (<c>?edit=NAME</c>), or null for a new one.</summary>
    public RuleRow? Editing { get; private set; }

    public void OnGet(string? edit)
    {
        Rules = editor.List().Select(n => new RuleRow(
            PolicyEdits.Scalar(n, "name") ?? "",
            string.Join("; ", Conditions.Where(k => PolicyEdits.Scalars(n, k).Count > 0).Select(k => $"{k}: {string.Join(", ", PolicyEdits.Scalars(n, k))}")),
            PolicyEdits.Scalar(n, "action") ?? "",
            !string.Equals(PolicyEdits.Scalar(n, "enabled"), "false", StringComparison.OrdinalIgnoreCase),
            n)).ToList();
        Editing = Rules.FirstOrDefault(r => r.Name == edit);
    }

    /// <summary>A key of a rule as the form shows it: lists space-separated; <c>categories</c> also shows <c>category</c>.</summary>
    public string? Value(YamlMappingNode node, string key) =>
        string.Join(" ", PolicyEdits.Scalars(node, key).Concat(key == "categories" ? PolicyEdits.Scalars(node, "category") : [])) is { Length: > 0 } v ? v : null;

    public async Task<IActionResult> OnPostChangeAsync(string? name, string? op)
    {
        OnGet(null);
        var index = Rules.ToList().FindIndex(r => r.Name == name);
        var outcome = op switch
        {
            "up" => await editor.MoveAsync(name ?? "", index - 1, Who, Reason ?? "", HttpContext.RequestAborted),
            "down" => await editor.MoveAsync(name ?? "", index + 1, Who, Reason ?? "", HttpContext.RequestAborted),
            "enable" or "disable" => await editor.SetEnabledAsync(name ?? "", op == "enable", Who, Reason ?? "", HttpContext.RequestAborted),
            "remove" => await editor.RemoveAsync(name ?? "", Who, Reason ?? "", HttpContext.RequestAborted),
            _ => FormOutcome.Refused(EditCodes.Error("op", EditCodes.BadValue, $"unknown change '{op}'")),
        };
        OnGet(null);
        return Show(Form ?? "", outcome, $"Rule '{name}': {op}");
    }

    public async Task<IActionResult> OnPostSaveAsync(string? original, string? name, string? description, string? roles, string? users, string? networks,
        string? categories, string? hosts, string? methods, string? paths, string? during, string? outside, string? action, string? alert)
    {
        var form = new RuleForm(name ?? "", description, roles, users, networks, categories, hosts, methods, paths, during, outside, action ?? "block", alert);
        var outcome = await editor.SaveAsync(string.IsNullOrEmpty(original) ? null : original, form, Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet(original);
        return Show(Form ?? "", outcome, $"Rule '{name}' saved");
    }
}
