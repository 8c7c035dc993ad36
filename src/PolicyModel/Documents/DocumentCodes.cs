namespace PolicyModel.Documents;

/// <summary>
/// Diagnostic codes added for limits and safeguarding checks on any policy file (one code, one problem). The
/// older PM01xx/PM02xx/PM04xx/PM05xx codes are written where they are raised; docs/policy.md lists them all.
/// </summary>
internal static class DocumentCodes
{
    /// <summary>YAML nested deeper than <see cref="YamlSource.MaxDepth"/> (policy.yaml or a term calendar).</summary>
    public const string TooDeep = "PM0108";

    /// <summary>A file larger than its limit (<see cref="PolicyFiles"/>).</summary>
    public const string FileTooLarge = "PM0109";

    /// <summary>A device, FIFO or socket where a file was expected.</summary>
    public const string NotRegularFile = "PM0110";

    /// <summary>A rule or exception that allows a host listed in a statutory category.</summary>
    public const string AllowsStatutoryHost = "PM0407";

    /// <summary>A bad <c>connect:</c> section: <c>bare_ip</c> must be <c>allow</c> or <c>block</c> (issue 17).</summary>
    public const string BadConnectOption = "PM0601";

    /// <summary>safe_search: a YouTube mode other than strict or moderate.</summary>
    public const string BadSafeSearchMode = "PM0602";

}
