using FilterService.Audit;
using FilterService.Hosting;
using FilterService.Policy;
using FilterService.Proxy;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FilterService.Admin.Pages;

/// <summary>The console's home: the live policy's version and the problems /health lists.</summary>
internal sealed class IndexModel : PageModel
{
    private readonly PolicyStore _store;
    private readonly AuditLog _audit;

    public IndexModel(PolicyStore store, AuditLog audit)
    {
        _store = store;
        _audit = audit;
    }

    public string PolicyVersion { get; private set; } = "";
    public string PolicyDirectory { get; private set; } = "";
    public string? LastLoad { get; private set; }
    public IReadOnlyList<string> Problems { get; private set; } = [];

    public void OnGet()
    {
        PolicyVersion = _store.Current.Version;
        PolicyDirectory = _store.Directory;
        if (_store.LastReport is { } report)
        {
            LastLoad = $"{report.At:yyyy-MM-dd HH:mm:ss} UTC ({report.Trigger}): {(report.Succeeded ? "loaded" : "refused, last good kept: " + report.FirstError)}";
        }
        var problems = AdminEndpoint.Problems(_store, _audit, HttpContext.RequestServices.GetService<InspectionAuthority>() is not null, HttpContext.RequestServices);
        if (!_audit.Accepting || !_audit.Writable)
        {
            problems.Add("the audit log is not being written (see /health)");
        }
        Problems = problems;
    }
}
