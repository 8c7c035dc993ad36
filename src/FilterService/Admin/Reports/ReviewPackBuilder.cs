using FilterService.Admin.History;
using FilterService.Admin.Incidents;
using PolicyModel.Decisions;

namespace FilterService.Admin.Reports;

/// <summary>The whole annual review pack: the checks, the policy in plain English, the year's changes and incidents.</summary>
internal sealed record ReviewPack(
    ReviewResult Checks,
    IReadOnlyList<PlainSection> Policy,
    DateTimeOffset YearFrom,
    IReadOnlyList<ChangeRow>? Changes,
    IReadOnlyList<IncidentSummary>? Incidents,
    IReadOnlyList<string> Problems);

/// <summary>Gathers a <see cref="ReviewPack"/> from the live policy and the console's stores (null stores: the section says it is not available).</summary>
internal sealed class ReviewPackBuilder(Func<PolicySnapshot> policy, ReviewSettings settings, IReadOnlyCollection<string> pupilRoles, bool inspection,
    TimeProvider time, IChangeHistory? changes, IIncidentReader? incidents)
{
    public async Task<ReviewPack> BuildAsync(CancellationToken cancellationToken = default)
    {
        var snapshot = policy();
        var now = time.GetUtcNow();
        var yearFrom = now.AddYears(-1);
        var problems = new List<string>();
        var checks = ReviewPackRunner.Run(snapshot, settings, pupilRoles, inspection, now);
        bool IsPupilAccount(string user) => snapshot.FindUser(user) is { } u && u.Roles.Any(r => pupilRoles.Contains(r, StringComparer.Ordinal));
        IReadOnlyList<PlainSection> plain;
        try
        {
            plain = PolicyInPlainEnglish.Describe(snapshot.Directory, IsPupilAccount, now);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or YamlDotNet.Core.YamlException)
        {
            plain = [];
            problems.Add("policy.yaml could not be read back for the plain-English section: " + ex.Message);
        }
        IReadOnlyList<ChangeRow>? changeRows = null;
        if (changes is not null)
        {
            try
            {
                changeRows = (await changes.ListAsync(yearFrom, now, 10_000, cancellationToken)).OrderBy(c => c.At)
                    .Select(c => new ChangeRow(c.Id, c.At, c.Change.Who, c.Change.Source, c.Change.Reason, c.Change.Files.Select(f => f.Path).ToList()))
                    .ToList();
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidOperationException)
            {
                problems.Add("The change history could not be read: " + ex.Message);
            }
        }
        IReadOnlyList<IncidentSummary>? incidentRows = null;
        if (incidents is not null)
        {
            try
            {
                incidentRows = await incidents.ListAsync(yearFrom, now, cancellationToken);
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidOperationException)
            {
                problems.Add("The incident store could not be read: " + ex.Message);
            }
        }
        return new ReviewPack(checks, plain, yearFrom, changeRows, incidentRows, problems);
    }
}
