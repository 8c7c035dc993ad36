using FilterService.Admin.Decisions;

namespace FilterService.Admin.Pages.Decisions;

internal sealed class IndexModel(DecisionSearch search, PupilNames names, DecisionIndexStatus status) : DecisionsPageModel(search, names, status)
{
    public override bool Live => false;
}
