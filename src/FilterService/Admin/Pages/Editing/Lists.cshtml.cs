using FilterService.Admin.Editing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;

namespace FilterService.Admin.Pages.Editing;

/// <summary>Each category's lists with their size and age; the school's own entries added, removed or uploaded.</summary>
internal sealed class ListsModel(ListEditor editor, TimeProvider time, IAuthorizationService authorization) : EditingPageModel(authorization)
{
    /// <summary>An uploaded list larger than this is refused before it is read.</summary>
    public const long MaxUploadBytes = 1 << 20;

    public IReadOnlyList<CategoryLists> Categories { get; private set; } = [];

    public void OnGet() => Categories = editor.Categories();

    public async Task<IActionResult> OnPostAddAsync(string category, string? entry)
    {
        var outcome = await editor.AddAsync(category, entry ?? "", Who, Reason ?? "", cancellationToken: HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"Added to {category}");
    }

    public async Task<IActionResult> OnPostRemoveAsync(string category, string? entry)
    {
        var outcome = await editor.RemoveAsync(category, entry ?? "", Who, Reason ?? "", HttpContext.RequestAborted);
        OnGet();
        return Show(Form ?? "", outcome, $"Removed from {category}");
    }

    public async Task<IActionResult> OnPostUploadAsync(string category, IFormFile? upload)
    {
        FormOutcome outcome;
        if (upload is null || upload.Length == 0 || upload.Length > MaxUploadBytes)
        {
            outcome = FormOutcome.Refused(EditCodes.Error("upload", EditCodes.BadValue, $"choose a text file of at most {MaxUploadBytes >> 20} MB"));
        }
        else
        {
            using var reader = new StreamReader(upload.OpenReadStream());
            outcome = await editor.AddAsync(category, await reader.ReadToEndAsync(HttpContext.RequestAborted), Who, Reason ?? "", "upload", HttpContext.RequestAborted);
        }
        OnGet();
        return Show(Form ?? "", outcome, $"Uploaded to {category}");
    }

    public string Age(DateTimeOffset? modified)
    {
        if (modified is not { } m)
        {
            return "";
        }
        var age = time.GetUtcNow() - m;
        return age.TotalDays >= 2 ? $"{(int)age.TotalDays} days ago" : age.TotalHours >= 2 ? $"{(int)age.TotalHours} hours ago" : $"{Math.Max(0, (int)age.TotalMinutes)} minutes ago";
    }
}
