using FilterService.Admin.Reports;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages.Reports;

/// <summary>
/// /reports/review: runs the annual review pack through the live policy and shows it, or downloads it as one HTML
/// document to print to PDF. Running it changes nothing (it only asks the engine), so any signed-in role may.
/// </summary>
[Authorize(Policy = ConsolePolicies.Read)]
internal sealed class ReviewModel(ReviewPackBuilder builder, Policy.PolicyStore store) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public bool Run { get; set; }

    public ReviewPack? Pack { get; private set; }

    /// <summary>The pack fragment: every value in it was encoded by <see cref="ReportHtml.E"/> when it was rendered.</summary>
    public string Html { get; private set; } = "";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        if (Run)
        {
            Pack = await builder.BuildAsync(cancellationToken);
            Html = ReviewPackHtml.Render(Pack, store.Current.TimeZone, document: false);
        }
    }

    public async Task<IActionResult> OnGetDownloadAsync(CancellationToken cancellationToken)
    {
        var pack = await builder.BuildAsync(cancellationToken);
        var html = ReviewPackHtml.Render(pack, store.Current.TimeZone);
        return File(System.Text.Encoding.UTF8.GetBytes(html), "text/html; charset=utf-8", $"review-pack-{pack.Checks.RanAt:yyyy-MM-dd}.html");
    }
}
