using FilterService.Admin.Editing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using PolicyModel.Diagnostics;

namespace FilterService.Admin.Pages.Editing;

/// <summary>
/// The policy pages' common part. Every POST is authorised here, on the server, against
/// <see cref="ConsolePolicies.EditPolicy"/> before any handler runs (an auditor's POST is 403 whatever the page shows);
/// every form carries a required reason; the outcome of the form that was posted is shown next to its fields.
/// </summary>
internal abstract class EditingPageModel(IAuthorizationService authorization) : PageModel
{
    /// <summary>Why: required by every change (the history records it).</summary>
    [BindProperty]
    public string? Reason { get; set; }

    /// <summary>Which form was posted (its id), so only that form shows the outcome.</summary>
    [BindProperty]
    public string? Form { get; set; }

    public FormOutcome? Outcome { get; protected set; }

    /// <summary>Whether the viewer may change the policy (the forms are drawn only for them; the POSTs check again).</summary>
    public bool CanEdit { get; private set; }

    /// <summary>The signed-in admin, who is recorded as having made the change.</summary>
    protected string Who => User.Identity?.Name ?? "";

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        CanEdit = (await authorization.AuthorizeAsync(User, ConsolePolicies.EditPolicy)).Succeeded;
        if (HttpMethods.IsPost(context.HttpContext.Request.Method) && !CanEdit)
        {
            context.Result = Forbid();
            return;
        }
        await next();
    }

    /// <summary>Shows <paramref name="outcome"/> for form <paramref name="form"/>; after a change that applied, redirects (GET) with a notice.</summary>
    protected IActionResult Show(string form, FormOutcome outcome, string? applied = null)
    {
        Form = form;
        Outcome = outcome;
        if (outcome.Applied)
        {
            TempData["notice"] = applied ?? "Saved and live";
            TempData["version"] = outcome.Outcome.Version;
            return RedirectToPage();
        }
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }

    /// <summary>The diagnostics of the posted form for <paramref name="field"/>; "" gives those tied to no field.</summary>
    public IReadOnlyList<Diagnostic> For(string form, string field) =>
        Outcome is null || Form != form ? [] : Outcome.For(field);

    /// <summary>The posted form's diagnostics that no field of it shows (<paramref name="shown"/> lists the fields it has).</summary>
    public IReadOnlyList<Diagnostic> Rest(string form, params string[] shown) =>
        Outcome is null || Form != form ? [] : Outcome.ByField.Where(p => !shown.Contains(p.Key)).SelectMany(p => p.Value).ToList();

    /// <summary>The value a field had when its form was posted and refused (so nothing typed is lost), else <paramref name="fallback"/>.</summary>
    public string? Posted(string form, string field, string? fallback = null) =>
        Form == form && Request.HasFormContentType && Request.Form.TryGetValue(field, out var v) ? v.ToString() : fallback;
}
