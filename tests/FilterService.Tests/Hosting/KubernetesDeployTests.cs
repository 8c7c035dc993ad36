using FilterService.Cli;
using FilterService.Tests.TestSupport;
using YamlDotNet.RepresentationModel;

namespace FilterService.Tests.Hosting;

/// <summary>
/// Issue 20: deploy/kubernetes. No cluster here: the manifests are held to each other and to the service's settings
/// (probes on the admin port's /health, mounts at the configured paths, non-root with a read-only root, secrets from
/// one Secret), and the policy ConfigMap, mounted as the Deployment maps its keys, is a policy the service loads.
/// </summary>
public sealed class KubernetesDeployTests
{
    private static readonly string Dir = Path.Combine(RepoPaths.Root, "deploy", "kubernetes");
    private static readonly DeploySettings Settings = DeploySettings.Read(File.ReadAllText(Path.Combine(Dir, "appsettings.json")));

    [Fact]
    public void Kustomization_EveryResourceAndGeneratedFileExists_AndTheSettingsAreTheContainers()
    {
        var kustomization = YamlFile.Load(Path.Combine(Dir, "kustomization.yaml"));
        foreach (var resource in kustomization.Seq("resources").Strings())
        {
            Assert.True(File.Exists(Path.Combine(Dir, resource)), $"kustomization.yaml: resource {resource} is missing");
        }
        foreach (var (_, file) in GeneratedFiles(kustomization).SelectMany(g => g.Value))
        {
            Assert.True(File.Exists(Path.Combine(Dir, file)), $"kustomization.yaml: {file} is missing");
        }
        Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "container", "appsettings.json")), File.ReadAllText(Path.Combine(Dir, "appsettings.json")));
        var deployment = Deployment();
        var image = kustomization.Seq("images").Children.Single().Str("name");
        Assert.Equal(image, Container(deployment).Str("image"));
    }

    [Fact]
    public void Deployment_ProbesAskHealthOnTheAdminPort_NonRootReadOnlyRoot_MountsAtTheConfiguredPaths()
    {
        var deployment = Deployment();
        var pod = deployment.Map("spec").Map("template").Map("spec");
        var container = Container(deployment);
        var ports = container.Seq("ports").Children.ToDictionary(p => p.Str("name"), p => int.Parse(p.Str("containerPort")));
        Assert.Equal(Settings.ProxyPort, ports["proxy"]);
        Assert.Equal(Settings.AdminPort, ports["admin"]);
        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
        {
            var get = container.Map(probe).Map("httpGet");
            Assert.Equal("/health", get.Str("path"));
            Assert.Equal(Settings.AdminPort, ports[get.Str("port")]);
        }
        Assert.Equal(Settings.AdminPort.ToString(), deployment.Map("spec").Map("template").Map("metadata").Map("annotations").Str("prometheus.io/port"));

        Assert.Equal("true", pod.Map("securityContext").Str("runAsNonRoot"));
        Assert.Equal("1654", pod.Map("securityContext").Str("runAsUser"));
        Assert.Equal("true", container.Map("securityContext").Str("readOnlyRootFilesystem"));
        Assert.Equal("false", container.Map("securityContext").Str("allowPrivilegeEscalation"));
        Assert.Equal(["ALL"], container.Map("securityContext").Map("capabilities").Seq("drop").Strings());

        // Writable: exactly the state and log directories, from the volume that outlives the pods; the rest read-only.
        var mounts = container.Seq("volumeMounts").Children.ToDictionary(m => m.Str("mountPath"));
        var volumes = pod.Seq("volumes").Children.ToDictionary(v => v.Str("name"));
        Assert.Equal("policy", mounts[Settings.PolicyPath].Str("name"));
        Assert.Equal("settings", mounts["/etc/school-filter/appsettings.json"].Str("name"));
        Assert.Equal("appsettings.json", mounts["/etc/school-filter/appsettings.json"].Str("subPath"));
        var writable = mounts.Values.Where(m => m.Find("readOnly") is not YamlScalarNode { Value: "true" }).Select(m => m.Str("mountPath")).Order().ToList();
        Assert.Equal(new[] { Settings.StateDirectory, Settings.AuditPath }.Order(), writable);
        foreach (var path in writable)
        {
            Assert.Contains("$(POD_NAME)", mounts[path].Str("subPathExpr")); // two replicas never share an audit file or an outbox
            Assert.Equal("school-filter-data", volumes[mounts[path].Str("name")].Map("persistentVolumeClaim").Str("claimName"));
        }

        // The CA's two files and the SMTP password come from the one Secret; the CA settings name the mounted files.
        var env = container.Seq("env").Children.ToDictionary(e => e.Str("name"));
        var ca = volumes[mounts["/etc/school-filter/ca"].Str("name")].Map("secret");
        var caFiles = ca.Seq("items").Children.Select(i => "/etc/school-filter/ca/" + i.Str("path")).ToList();
        Assert.Contains(env["Proxy__InspectionCaCertificate"].Str("value"), caFiles);
        Assert.Contains(env["Proxy__InspectionCaKey"].Str("value"), caFiles);
        Assert.Equal(ca.Str("secretName"), env["Alerts__Smtp__Password"].Map("valueFrom").Map("secretKeyRef").Str("name"));
    }

    [Fact]
    public void ServicesAndDisruptionBudget_SelectThePods_AndTargetTheirNamedPorts()
    {
        var deployment = Deployment();
        var labels = deployment.Map("spec").Map("template").Map("metadata").Map("labels");
        var ports = Container(deployment).Seq("ports").Children.Select(p => p.Str("name")).ToHashSet();
        var services = YamlFile.LoadAll(Path.Combine(Dir, "service.yaml"));
        Assert.Equal(2, services.Count);
        foreach (var service in services)
        {
            foreach (var (key, value) in service.Map("spec").Map("selector").Children)
            {
                Assert.Equal(((YamlScalarNode)value).Value, labels.Str(((YamlScalarNode)key).Value!));
            }
            Assert.All(service.Map("spec").Seq("ports").Children, p => Assert.Contains(p.Str("targetPort"), ports));
        }
        var budget = YamlFile.Load(Path.Combine(Dir, "poddisruptionbudget.yaml"));
        foreach (var (key, value) in budget.Map("spec").Map("selector").Map("matchLabels").Children)
        {
            Assert.Equal(((YamlScalarNode)value).Value, labels.Str(((YamlScalarNode)key).Value!));
        }
        Assert.True(int.Parse(budget.Map("spec").Str("minAvailable")) < int.Parse(deployment.Map("spec").Str("replicas")),
            "with minAvailable equal to replicas no node could ever be drained");
    }

    [Fact]
    public async Task PolicyConfigMap_MountedAsTheDeploymentMapsIt_IsTheWholeSamplePolicy_AndTheServiceLoadsIt()
    {
        var generated = GeneratedFiles(YamlFile.Load(Path.Combine(Dir, "kustomization.yaml")))["school-filter-policy"];
        var items = Deployment().Map("spec").Map("template").Map("spec").Seq("volumes").Children
            .Single(v => v.Str("name") == "policy").Map("configMap").Seq("items").Children.ToDictionary(i => i.Str("key"), i => i.Str("path"));
        Assert.Equal(generated.Keys.Order(), items.Keys.Order());

        // The directory the pod sees, made from the ConfigMap's files where the items put them.
        var policy = TempDir.Create("k8s-policy");
        long bytes = 0;
        foreach (var (key, file) in generated)
        {
            var to = Path.Combine(policy, items[key]);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(Path.Combine(Dir, file), to);
            bytes += new FileInfo(to).Length;
        }
        Assert.True(bytes < 1024 * 1024 * 9 / 10, $"a ConfigMap holds at most 1 MiB; the policy is {bytes} bytes");
        // Every file of the sample but its documentation.
        var sample = Directory.GetFiles(Samples.DefaultDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Samples.DefaultDir, f)).Where(f => !f.EndsWith(".md")).Order();
        Assert.Equal(sample, items.Values.Order());

        var stdout = new StringWriter();
        var exit = await CliCommands.RunAsync(["check", "--policy", policy], stdout, new StringWriter(), new StringReader(""));
        Assert.True(exit == 0, stdout.ToString());
        Assert.DoesNotMatch(@"error [A-Z]{2}\d", stdout.ToString());
    }

    private static YamlMappingNode Deployment() => YamlFile.Load(Path.Combine(Dir, "deployment.yaml"));

    private static YamlNode Container(YamlMappingNode deployment) =>
        deployment.Map("spec").Map("template").Map("spec").Seq("containers").Children.Single(c => c.Str("name") == "school-filter");

    /// <summary>Each configMapGenerator: its name, then key -> file (relative to deploy/kubernetes).</summary>
    private static Dictionary<string, Dictionary<string, string>> GeneratedFiles(YamlMappingNode kustomization) =>
        kustomization.Seq("configMapGenerator").Children.ToDictionary(
            g => g.Str("name"),
            g => g.Seq("files").Strings().ToDictionary(f => f.Contains('=') ? f.Split('=')[0] : Path.GetFileName(f), f => f.Contains('=') ? f.Split('=')[1] : f));
}
