using FilterService.Admin.Editing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace FilterService.Admin.Pages.Editing;

internal sealed record DeniedRow(string User, string Why, string? By);

/// <summary>Denied users: added (by the signed-in admin) and removed.</summary>
internal sealed class DeniedUsersModel(RuleEditor editor, IAuthorizationService authorization) : EditingPageModel(authorization)
{
    public IReadOnlyList<DeniedRow> Denied { get; private set; } = [];

    public void OnGet() => Denied = editor.DeniedUsers()
        .Select(n => new DeniedRow(PolicyEdits.Scalar(n, "user") ?? "", PolicyEdits.Scalar(n, "reason") ?? "", PolicyEdits.Scalar(n, "by"))).ToList();

    public async Task<IActionResult> OnPostAddAsync(string? user, string? why)
    {
        var outcome = await editor.AddDeniedAsync(user ?? "", why ?? "", Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"'{user}' denied");
    }

    public async Task<IActionResult> OnPostRemoveAsync(string? user)
    {
        var outcome = await editor.RemoveDeniedAsync(user ?? "", Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"'{user}' no longer denied");
    }
}
