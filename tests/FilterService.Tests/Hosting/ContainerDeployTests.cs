using FilterService.Tests.Telemetry;
using FilterService.Tests.TestSupport;
using YamlDotNet.RepresentationModel;

namespace FilterService.Tests.Hosting;

/// <summary>
/// Issue 20: deploy/container/Dockerfile and deploy/compose. No Docker daemon here (docs/service.md says where the image
/// was built): these tests hold the files to each other and to the service's settings (every mounted or copied file
/// exists, ports and paths agree), publish from only what the Dockerfile copies, and check the compose Prometheus
/// configuration with promtool. ReadOnlyRootTests runs the image's layout.
/// </summary>
public sealed class ContainerDeployTests
{
    private static readonly string Deploy = Path.Combine(RepoPaths.Root, "deploy");
    private static readonly string Compose = Path.Combine(Deploy, "compose");
    private static readonly DeploySettings Settings = DeploySettings.Read(File.ReadAllText(Path.Combine(Deploy, "container", "appsettings.json")));

    [Fact]
    public void Dockerfile_NonRootWithStateAndLogVolumes_PortsFromTheSettings_HealthCheckWithTheServicesOwnCommand()
    {
        var lines = DockerfileInstructions();
        var runtime = lines.SkipWhile(l => !l.StartsWith("FROM mcr.microsoft.com/dotnet/runtime-deps:")).ToList();
        Assert.NotEmpty(runtime);
        Assert.Contains("USER 1654:1654", runtime);
        Assert.Contains($"VOLUME [\"{Settings.StateDirectory}\", \"{Settings.AuditPath}\"]", runtime);
        Assert.Contains($"EXPOSE {Settings.ProxyPort} {Settings.AdminPort}", runtime);
        Assert.Contains("ENV DOTNET_CONTENTROOT=/etc/school-filter", runtime);
        Assert.Contains("COPY deploy/container/appsettings.json /etc/school-filter/appsettings.json", runtime);
        Assert.Contains($"COPY deploy/samples/default/ {Settings.PolicyPath}/", runtime);
        Assert.Contains(runtime, l => l.StartsWith("HEALTHCHECK ") && l.EndsWith("CMD [\"/app/FilterService\", \"health\"]"));
        Assert.Contains("ENTRYPOINT [\"/app/FilterService\"]", runtime);

        // Every file the build copies from the context exists and is not left out of the context by .dockerignore.
        var ignored = File.ReadAllLines(Path.Combine(RepoPaths.Root, ".dockerignore")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var copy in lines.Where(l => l.StartsWith("COPY ") && !l.Contains("--from=")))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[1..^1])
            {
                Assert.True(File.Exists(Path.Combine(RepoPaths.Root, source)) || Directory.Exists(Path.Combine(RepoPaths.Root, source)), $"Dockerfile: {copy}: {source} is missing");
                Assert.DoesNotContain(ignored, i => source.StartsWith(i.TrimStart('/'), StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public async Task DockerfileBuildStage_FromOnlyWhatItCopies_PublishesTheService()
    {
        // The build stage's context: exactly its COPY sources (bin/ and obj/ are in .dockerignore), then its publish command.
        var context = TempDir.Create("docker-context");
        var build = DockerfileInstructions().TakeWhile(l => !l.StartsWith("FROM mcr.microsoft.com/dotnet/runtime-deps:")).ToList();
        foreach (var copy in build.Where(l => l.StartsWith("COPY ")))
        {
            foreach (var source in copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
            {
                var from = Path.Combine(RepoPaths.Root, source);
                if (File.Exists(from))
                {
                    File.Copy(from, Path.Combine(context, source));
                    continue;
                }
                foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)
                             .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")))
                {
                    var to = Path.Combine(context, Path.GetRelativePath(RepoPaths.Root, file));
                    Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                    File.Copy(file, to);
                }
            }
        }
        var run = Assert.Single(build, l => l.StartsWith("RUN "));
        Assert.Contains("dotnet publish src/FilterService -c Release -r \"$rid\" --self-contained -o /out/app -p:DebugType=none -p:RunAnalyzers=false --nologo", run);
        var (code, output) = await Command.RunAsync(TimeSpan.FromSeconds(300), "dotnet",
            ["publish", "src/FilterService", "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", Path.Combine(context, "out"),
             "-p:DebugType=none", "-p:RunAnalyzers=false", "--nologo", "-v", "quiet"],
            workingDirectory: context);
        Assert.True(code == 0, $"dotnet publish in the Dockerfile's context: exit {code}\n{output}");
        Assert.True(File.Exists(Path.Combine(context, "out", "FilterService")));
    }

    [Fact]
    public void Compose_EveryMountedFileExists_AndItsPathsAndPortsAgreeWithTheImageAndTheSettings()
    {
        var compose = YamlFile.Load(Path.Combine(Compose, "compose.yaml"));
        var services = compose.Map("services");
        var declaredVolumes = compose.Map("volumes").Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet();
        var mounts = new Dictionary<string, Dictionary<string, string>>(); // service -> container path -> source
        foreach (var (name, service) in services.Children.Select(c => (((YamlScalarNode)c.Key).Value!, c.Value)))
        {
            mounts[name] = [];
            foreach (var volume in service.Find("volumes") is YamlSequenceNode v ? v.Strings() : [])
            {
                var parts = volume.Split(':');
                var (source, mountedAt) = (parts[0], parts[1]);
                mounts[name][mountedAt] = source;
                if (source.StartsWith('.'))
                {
                    var path = Path.GetFullPath(Path.Combine(Compose, source));
                    Assert.True(File.Exists(path) || Directory.Exists(path), $"compose.yaml: {name}: {source} does not exist");
                }
                else
                {
                    Assert.Contains(source, declaredVolumes);
                }
            }
            foreach (var dependency in service.Find("depends_on") is YamlSequenceNode d ? d.Strings() : [])
            {
                Assert.Contains(dependency, mounts.Keys);
            }
        }

        var filter = services.Map("filter");
        var build = filter.Map("build");
        Assert.True(File.Exists(Path.Combine(Compose, build.Str("context"), build.Str("dockerfile"))));
        Assert.Equal("1654:1654", filter.Str("user"));
        Assert.Equal("true", filter.Str("read_only"));
        Assert.Equal("../samples/default", mounts["filter"][Settings.PolicyPath]);
        Assert.Contains(Settings.StateDirectory, mounts["filter"].Keys);
        Assert.Contains(Settings.AuditPath, mounts["filter"].Keys);
        Assert.Contains(filter.Seq("volumes").Strings(), v => v == $"../samples/default:{Settings.PolicyPath}:ro");
        Assert.Contains($"{Settings.ProxyPort}:{Settings.ProxyPort}", filter.Seq("ports").Strings());

        // Prometheus scrapes the filter service by its compose name on the admin port, and loads the alert rules mounted beside its config.
        var prometheus = services.Map("prometheus");
        var configPath = prometheus.Seq("command").Strings().Single(a => a.StartsWith("--config.file=")).Split('=')[1];
        var config = YamlFile.Load(Path.Combine(Compose, mounts["prometheus"][configPath]));
        var target = config.Seq("scrape_configs").Children.Single().Seq("static_configs").Children.Single().Seq("targets").Strings().Single();
        Assert.Equal($"filter:{Settings.AdminPort}", target);
        foreach (var rules in config.Seq("rule_files").Strings())
        {
            var mounted = Path.Combine(Path.GetDirectoryName(configPath)!, rules);
            Assert.Equal("../prometheus/alerts.yml", mounts["prometheus"][mounted]);
        }

        // Grafana: the data source is the compose Prometheus on its container port; the dashboard file is in the provider's folder.
        var grafana = mounts["grafana"];
        var datasource = YamlFile.Load(Path.Combine(Compose, grafana.Single(m => m.Key.StartsWith("/etc/grafana/provisioning/datasources/")).Value))
            .Seq("datasources").Children.Single();
        var prometheusPort = prometheus.Seq("ports").Strings().Single().Split(':')[^1];
        Assert.Equal($"http://prometheus:{prometheusPort}", datasource.Str("url"));
        Assert.Equal("true", datasource.Str("isDefault"));
        var provider = YamlFile.Load(Path.Combine(Compose, grafana.Single(m => m.Key.StartsWith("/etc/grafana/provisioning/dashboards/")).Value))
            .Seq("providers").Children.Single();
        var dashboard = grafana.Single(m => m.Value == "../grafana/filterservice.json").Key;
        Assert.Equal(provider.Map("options").Str("path"), Path.GetDirectoryName(dashboard));
    }

    [Fact]
    public async Task ComposePrometheus_ItsConfigWithTheMountedRules_PassesPromtoolCheckConfig()
    {
        // The two files where compose mounts them (/etc/prometheus), so rule_files resolves as it will in the container.
        var etc = Path.Combine(TempDir.Create("compose-prometheus"), "etc", "prometheus");
        Directory.CreateDirectory(etc);
        File.Copy(Path.Combine(Compose, "prometheus.yml"), Path.Combine(etc, "prometheus.yml"));
        File.Copy(Path.Combine(Deploy, "prometheus", "alerts.yml"), Path.Combine(etc, "alerts.yml"));
        var result = await Promtool.RunAsync(null, etc, "check", "config", Path.Combine(etc, "prometheus.yml"));
        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("SUCCESS: 1 rule files found", result.Stdout + result.Stderr);
    }

    /// <summary>The Dockerfile's instructions, one a line: comments dropped, continuation lines joined.</summary>
    private static List<string> DockerfileInstructions()
    {
        var result = new List<string>();
        var current = "";
        foreach (var raw in File.ReadAllLines(Path.Combine(Deploy, "container", "Dockerfile")))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0))
            {
                continue;
            }
            current = current.Length == 0 ? line : current + " " + line;
            if (current.EndsWith('\\'))
            {
                current = current[..^1].TrimEnd();
                continue;
            }
            if (current.Length > 0)
            {
                result.Add(current);
            }
            current = "";
        }
        return result;
    }
}
