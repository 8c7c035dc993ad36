using FilterService.Policy;
using Microsoft.AspNetCore.Mvc.RazorPages;
using PolicyModel.Decisions;

namespace FilterService.Admin.Pages.Editing;

/// <summary>The policy at a glance: version, counts, categories (statutory ones marked read only), load warnings.</summary>
internal sealed class PolicyIndexModel(PolicyStore store) : PageModel
{
    public PolicySnapshot Policy { get; private set; } = null!;

    public void OnGet() => Policy = store.Current;
}
