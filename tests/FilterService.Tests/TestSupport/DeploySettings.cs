using System.Net;
using System.Text.Json;
using FilterService.Hosting;

namespace FilterService.Tests.TestSupport;

/// <summary>A deployment's appsettings.json (deploy/container, deploy/systemd, the Kubernetes ConfigMap): the ports and paths the manifests must agree with.</summary>
public sealed record DeploySettings(int ProxyPort, int AdminPort, string PolicyPath, string AuditPath, string OutboxPath)
{
    public string StateDirectory => Path.GetDirectoryName(OutboxPath)!;

    public static DeploySettings Read(string appsettingsJson)
    {
        var root = JsonDocument.Parse(appsettingsJson).RootElement;
        return new(
            Port(root.GetProperty("Proxy").GetProperty("Listen").GetString()!),
            Port(root.GetProperty("Admin").GetProperty("Listen").GetString()!),
            root.GetProperty("Policy").GetProperty("Path").GetString()!,
            root.GetProperty("Audit").GetProperty("Path").GetString()!,
            root.GetProperty("Alerts").GetProperty("Outbox").GetProperty("Path").GetString()!);
    }

    private static int Port(string listen)
    {
        Assert.True(FilterService.Runtime.EndPointText.TryParse(listen, out IPEndPoint ep), $"'{listen}' is not address:port");
        return ep.Port;
    }
}
