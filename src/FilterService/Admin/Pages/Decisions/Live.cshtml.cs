using FilterService.Admin.Decisions;

namespace FilterService.Admin.Pages.Decisions;

internal sealed class LiveModel(DecisionSearch search, PupilNames names, DecisionIndexStatus status) : DecisionsPageModel(search, names, status)
{
    /// <summary>Seconds between refreshes of the live view (a meta refresh: no script).</summary>
    public const int RefreshSeconds = 3;

    public override bool Live => true;
}
