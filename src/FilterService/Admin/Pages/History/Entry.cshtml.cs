using FilterService.Admin.Editing;
using FilterService.Admin.History;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.History;

/// <summary>/history/{id}: one entry, its diffs coloured (escaped by Razor), and for the ict-manager a revert with a required reason.</summary>
internal sealed class EntryModel(IChangeHistory history, HistoryReverter reverter, IAuthorizationService authorization) : PageModel
{
    public ChangeEntry Entry { get; private set; } = null!;
    public bool CanEdit { get; private set; }
    public string? Message { get; private set; }
    public bool Applied { get; private set; }

    public async Task<IActionResult> OnGetAsync(long id, CancellationToken cancellationToken) =>
        await LoadAsync(id, cancellationToken) ? Page() : NotFound();

    public async Task<IActionResult> OnPostRevertAsync(long id, string? reason, CancellationToken cancellationToken)
    {
        // On the server, whatever the page showed: only an ict-manager reverts.
        if (!(await authorization.AuthorizeAsync(User, ConsolePolicies.EditPolicy)).Succeeded)
        {
            return Forbid();
        }
        var outcome = await reverter.RevertAsync(id, User.Identity!.Name!, reason ?? "", cancellationToken);
        if (outcome.Applied)
        {
            return Redirect($"/history/{outcome.Edit!.Entry!.Id}");
        }
        Message = "Not reverted: " + outcome.Refusal;
        return await LoadAsync(id, cancellationToken) ? Page() : NotFound();
    }

    private async Task<bool> LoadAsync(long id, CancellationToken cancellationToken)
    {
        if (await history.GetAsync(id, cancellationToken) is not { } entry)
        {
            return false;
        }
        Entry = entry;
        CanEdit = (await authorization.AuthorizeAsync(User, ConsolePolicies.EditPolicy)).Succeeded;
        return true;
    }
}
