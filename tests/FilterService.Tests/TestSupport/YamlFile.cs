using YamlDotNet.RepresentationModel;

namespace FilterService.Tests.TestSupport;

/// <summary>Reads deployment YAML (compose, Kubernetes manifests, provisioning) for the consistency tests, with assertions that name the missing key.</summary>
public static class YamlFile
{
    /// <summary>Every document in the file, each a mapping.</summary>
    public static List<YamlMappingNode> LoadAll(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            stream.Load(reader);
        }
        return stream.Documents.Select(d => Assert.IsType<YamlMappingNode>(d.RootNode)).ToList();
    }

    public static YamlMappingNode Load(string path) => Assert.Single(LoadAll(path));

    public static YamlNode? Find(this YamlNode node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static YamlMappingNode Map(this YamlNode node, string key) =>
        Assert.IsType<YamlMappingNode>(node.Find(key) ?? throw new Xunit.Sdk.XunitException($"no '{key}' in {node.Start}"));

    public static YamlSequenceNode Seq(this YamlNode node, string key) =>
        Assert.IsType<YamlSequenceNode>(node.Find(key) ?? throw new Xunit.Sdk.XunitException($"no '{key}' in {node.Start}"));

    public static string Str(this YamlNode node, string key) =>
        Assert.IsType<YamlScalarNode>(node.Find(key) ?? throw new Xunit.Sdk.XunitException($"no '{key}' in {node.Start}")).Value!;

    public static IEnumerable<string> Strings(this YamlSequenceNode seq) => seq.Children.Select(c => Assert.IsType<YamlScalarNode>(c).Value!);
}
