using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using NodaTime.Text;
using NodaTime;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using PolicyModel.Matching;
using PolicyModel.Schedules;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>The outcome of loading a policy directory: a snapshot if there were no errors, and every diagnostic.</summary>
public sealed record PolicyLoadResult(PolicySnapshot? Snapshot, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Succeeded => Snapshot is not null;

    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);

    /// <summary>The feeds whose keys compiled, even when the policy did not load (a feed's list not fetched yet is PM0201): <c>lists update</c> fetches them.</summary>
    public IReadOnlyList<FeedSpec> Feeds { get; init; } = [];
}

public static class PolicyLoader
{
    public const string FileName = "policy.yaml";

    /// <summary>
    /// Loads, validates and compiles <c>DIR/policy.yaml</c> and every file it names. Collects every problem;
    /// never throws for bad input. <paramref name="clock"/> (for "this exception has expired" warnings) defaults to the system clock.
    /// </summary>
    public static PolicyLoadResult Load(string directory, TimeProvider? clock = null)
    {
        var diagnostics = new DiagnosticBag();
        var path = Path.Combine(directory, FileName);
        var check = PolicyFiles.Inspect(path, PolicyFiles.MaxYamlBytes);
        if (check == PolicyFiles.Check.NotFound)
        {
            diagnostics.Error(new SourceLocation(FileName, 0, 0), Messages.NoPolicyFile, FileName, directory);
            return new PolicyLoadResult(null, diagnostics.Items);
        }

        string? text;
        try
        {
            text = check == PolicyFiles.Check.Ok ? PolicyFiles.ReadBounded(path, PolicyFiles.MaxYamlBytes) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics.Error(new SourceLocation(FileName, 0, 0), Messages.PolicyFileUnreadable, FileName, e.Message);
            return new PolicyLoadResult(null, diagnostics.Items);
        }

        if (text is null)
        {
            var at = new SourceLocation(FileName, 0, 0);
            if (check == PolicyFiles.Check.NotRegular)
            {
                diagnostics.Error(at, Messages.PolicyFileNotRegular, FileName);
            }
            else
            {
                diagnostics.Error(at, Messages.PolicyFileTooLarge, FileName, PolicyFiles.Size(PolicyFiles.MaxYamlBytes));
            }
            return new PolicyLoadResult(null, diagnostics.Items);
        }

        var (source, root) = YamlSource.Parse(FileName, text, diagnostics);
        if (root is null)
        {
            if (!diagnostics.HasErrors)
            {
                diagnostics.Error(new SourceLocation(FileName, 1, 1), Messages.PolicyFileEmpty);
            }

            return new PolicyLoadResult(null, diagnostics.Items);
        }

        var compiler = new PolicyCompiler(directory, source, (clock ?? TimeProvider.System).GetUtcNow());
        var snapshot = compiler.Compile(root, text);
        return new PolicyLoadResult(diagnostics.HasErrors ? null : snapshot, diagnostics.Items) { Feeds = compiler.Feeds };
    }
}

/// <summary>Turns the YAML tree into a <see cref="PolicySnapshot"/>, one section at a time, reporting every problem.</summary>
internal sealed class PolicyCompiler
{
    private static readonly string[] TopKeys =
        ["name", "timezone", "clients", "networks", "identity", "roles", "categories", "schedules", "denied_users", "rules", "exceptions", "default",
         "connect", "safe_search", "inspection", "tenant_restrictions"];

    private static readonly string[] RuleKeys =
        ["name", "description", "roles", "users", "networks", "category", "categories", "hosts", "methods", "paths", "during", "outside", "action", "alert", "enabled"];

    private static readonly string[] ExceptionKeys =
        ["name", "user", "users", "role", "roles", "allow", "hosts", "from", "until", "during", "granted_by", "reason"];

    private static readonly FrozenSet<string> HttpMethods =
        new[] { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE" }.ToFrozenSet();

    private const int MaxWarningsPerList = 20;

    private readonly string _directory;
    private readonly YamlSource _src;
    private readonly DateTimeOffset _now;
    private readonly List<string> _versionParts = new();
    private readonly List<FeedSpec> _feeds = new();

    private DateTimeZone _zone = DateTimeZone.Utc;
    private readonly List<string> _roles = new();
    private readonly Dictionary<string, NetworkDef> _networks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CategoryDef> _categories = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Schedule?> _schedules = new(StringComparer.Ordinal);
    private UserDirectory _users = UserDirectory.Empty;
    private DomainMatcher _matcher = DomainMatcher.Empty;
    private bool _usersLoaded;
    private DirectoryPolicy? _ldap;
    private bool _hasDirectory;
    private ulong _signInNetworks;
    private bool _refuseBareIpConnect;

    public PolicyCompiler(string directory, YamlSource source, DateTimeOffset now)
    {
        _directory = directory;
        _src = source;
        _now = now;
    }

    private DiagnosticBag Diagnostics => _src.Diagnostics;

    public IReadOnlyList<FeedSpec> Feeds => _feeds;

    public PolicySnapshot? Compile(YamlNode root, string policyText)
    {
        _versionParts.Add(policyText);
        var top = _src.Entries(root, "the policy", TopKeys);
        YamlNode? Section(string key) => YamlSource.Get(top, key);

        var name = _src.Scalar(Section("name"), "name");
        ReadTimeZone(Section("timezone"), root);
        ReadRoles(Section("roles"), root);
        var clients = ReadCidrs(Section("clients"), "clients");
        if (Section("clients") is null)
        {
            _src.Error(root, Messages.MissingClients);
        }

        ReadNetworks(Section("networks"));
        var (proxyAuth, bindings) = ReadIdentity(Section("identity"));
        var (matcher, lists) = ReadCategories(Section("categories"), root);
        _matcher = matcher;
        ReadSchedules(Section("schedules"));
        var denied = ReadDenied(Section("denied_users"));
        var rules = ReadRules(Section("rules"));
        var exceptions = ReadExceptions(Section("exceptions"));
        var defaultAction = ReadAction(Section("default"), "default") ?? DecisionAction.Allow;
        ReadConnect(Section("connect"));
        var safeSearch = SafeSearchCompiler.Compile(_src, Section("safe_search"), _roles);
        var inspectionCompiler = new InspectionCompiler(_src, _directory, _categories, matcher);
        var inspection = inspectionCompiler.Compile(Section("inspection"));
        _versionParts.AddRange(inspectionCompiler.Texts);
        var tenants = TenantRestrictionsCompiler.Compile(_src, Section("tenant_restrictions"), _roles);
        inspectionCompiler.WarnOverridden(inspection, Section("inspection"), Section("rules"), Section("tenant_restrictions"), tenants);
        if (Section("default") is null)
        {
            _src.Error(root, Messages.MissingDefault);
        }

        if (Diagnostics.HasErrors)
        {
            return null;
        }

        var networks = _networks.Values.OrderBy(n => n.Index).ToImmutableArray();
        var categories = _categories.Values.OrderBy(c => c.Index).ToImmutableArray();
        var warnings = Diagnostics.Items.Where(d => d.Severity == DiagnosticSeverity.Warning).ToList();
        return new PolicySnapshot(
            Path.GetFullPath(_directory), Version(), name, _zone, proxyAuth, clients, networks, _roles.ToImmutableArray(), _users,
            bindings, categories, matcher, lists, rules, exceptions, denied, defaultAction, warnings) { SignInNetworkMask = _signInNetworks, RefuseBareIpConnect = _refuseBareIpConnect, SafeSearch = safeSearch,
              Inspection = inspection, TenantRestrictions = tenants, Feeds = [.. _feeds], Ldap = _ldap };
    }

    private string Version()
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", _versionParts)));
        return Convert.ToHexStringLower(hash)[..12];
    }

    private void ReadTimeZone(YamlNode? node, YamlNode root)
    {
        if (node is null)
        {
            _src.Error(root, Messages.MissingTimeZone);
            return;
        }

        var id = _src.Scalar(node, "timezone");
        if (id is null)
        {
            return;
        }

        var zone = DateTimeZoneProviders.Tzdb.GetZoneOrNull(id);
        if (zone is null)
        {
            _src.Error(node, Messages.UnknownTimeZone, id, Suggestions.DidYouMean(id, DateTimeZoneProviders.Tzdb.Ids));
            return;
        }

        _zone = zone;
    }

    private void ReadRoles(YamlNode? node, YamlNode root)
    {
        if (node is null)
        {
            _src.Error(root, Messages.MissingRoles);
            return;
        }

        foreach (var (role, at) in _src.ScalarList(node, "roles"))
        {
            if (_roles.Contains(role))
            {
                _src.Error(at, Messages.DuplicateRole, role);
            }
            else if (_roles.Count == 64)
            {
                _src.Error(at, Messages.TooManyRoles);
            }
            else
            {
                _roles.Add(role);
            }
        }
    }

    private int? RoleIndex(string role, YamlNode at)
    {
        var index = _roles.IndexOf(role);
        if (index < 0)
        {
            _src.Error(at, Messages.UnknownRole, role, Suggestions.DidYouMean(role, _roles));
            return null;
        }

        return index;
    }

    private ulong RoleMask(YamlNode? node, string what)
    {
        var mask = 0UL;
        foreach (var (role, at) in _src.ScalarList(node, what))
        {
            if (RoleIndex(role, at) is int i)
            {
                mask |= 1UL << i;
            }
        }

        return mask;
    }

    private ImmutableArray<IPNetwork> ReadCidrs(YamlNode? node, string what)
    {
        var result = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var (text, at) in _src.ScalarList(node, what))
        {
            if (TryParseCidr(text, out var network, out var problem))
            {
                result.Add(network);
            }
            else
            {
                _src.Error(at, Messages.BadCidr, text, problem);
            }
        }

        return result.ToImmutable();
    }

    internal static bool TryParseCidr(string text, out IPNetwork network, out string? problem)
    {
        network = default;
        problem = null;
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Count(c => c == '.') is not (0 or 3))
        {
            problem = "not an IPv4 or IPv6 address";
            return false;
        }

        var max = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        var prefix = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), out prefix) || prefix < 0 || prefix > max))
        {
            problem = $"the prefix length must be 0-{max}";
            return false;
        }

        var masked = MaskAddress(address, prefix);
        if (masked != address.ToString())
        {
            problem = $"host bits are set; write the network address {masked}/{prefix}";
            return false;
        }

        network = new IPNetwork(address, prefix);
        return true;
    }

    private static string MaskAddress(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes).ToString();
    }

    private void ReadNetworks(YamlNode? node)
    {
        if (node is null)
        {
            return;
        }

        foreach (var (key, value) in _src.Entries(node, "networks"))
        {
            var name = key.Value!;
            if (_networks.ContainsKey(name))
            {
                _src.Error(key, Messages.DuplicateNetwork, name);
                continue;
            }

            YamlNode? cidrs = value;
            int? defaultRole = null;
            if (value is YamlMappingNode)
            {
                var entries = _src.Entries(value, $"network '{name}'", ["cidrs", "default_role", "description"]);
                cidrs = YamlSource.Get(entries, "cidrs");
                if (cidrs is null)
                {
                    _src.Error(value, Messages.NetworkNeedsCidrs, name);
                }

                if (YamlSource.Get(entries, "default_role") is { } roleNode && _src.Scalar(roleNode, "default_role") is { } role)
                {
                    defaultRole = RoleIndex(role, roleNode);
                }
            }

            if (_networks.Count == 64)
            {
                _src.Error(key, Messages.TooManyNetworks);
                continue;
            }

            _networks[name] = new NetworkDef(name, _networks.Count, ReadCidrs(cidrs, $"network '{name}'"), defaultRole);
        }
    }

    private (ProxyAuthMode, FrozenDictionary<IPAddress, string>) ReadIdentity(YamlNode? node)
    {
        var mode = ProxyAuthMode.Off;
        var bindings = new Dictionary<IPAddress, string>();
        if (node is null)
        {
            return (mode, bindings.ToFrozenDictionary());
        }

        var entries = _src.Entries(node, "identity", ["users", "proxy_auth", "required_on", "bindings", "directory"]);
        if (YamlSource.Get(entries, "directory") is { } directoryNode)
        {
            _ldap = DirectoryCompiler.Compile(_src, directoryNode, _roles);
            _hasDirectory = true;
        }

        if (YamlSource.Get(entries, "users") is { } usersNode && _src.Scalar(usersNode, "users") is { } usersFile)
        {
            var full = Path.Combine(_directory, usersFile);
            if (PolicyFiles.Inspect(full, PolicyFiles.MaxTableBytes) == PolicyFiles.Check.NotFound)
            {
                _src.Error(usersNode, Messages.UsersFileNotFound, usersFile);
            }
            else if (PolicyFiles.ReadText(_directory, usersFile, _src.At(usersNode), Messages.UsersFileUnreadable, "users file", Diagnostics) is { } usersText)
            {
                _users = UserDirectory.Load(usersText, usersFile, _roles.ToHashSet(), Diagnostics);
                _usersLoaded = true;
                _versionParts.Add(usersText);
            }
        }

        if (YamlSource.Get(entries, "proxy_auth") is { } authNode && _src.Scalar(authNode, "proxy_auth") is { } auth)
        {
            switch (auth)
            {
                case "off": mode = ProxyAuthMode.Off; break;
                case "optional": mode = ProxyAuthMode.Optional; break;
                case "required": mode = ProxyAuthMode.Required; break;
                default:
                    _src.Error(authNode, Messages.BadProxyAuth, auth);
                    break;
            }

            if (mode != ProxyAuthMode.Off && !_usersLoaded && YamlSource.Get(entries, "directory") is null)
            {
                _src.Error(authNode, Messages.ProxyAuthWithoutPasswords);
            }
        }

        // Issue 15 item 5: networks where a device must sign in although proxy_auth is optional elsewhere, so a
        // person's rules (denied_users, staff rules) cannot be escaped by sending no credentials.
        if (YamlSource.Get(entries, "required_on") is { } requiredNode)
        {
            _signInNetworks = NetworkMask(requiredNode, "required_on");
            if (mode == ProxyAuthMode.Off)
            {
                _src.Error(requiredNode, Messages.RequiredOnNeedsOptionalSignIn);
            }
        }

        if (YamlSource.Get(entries, "bindings") is YamlSequenceNode seq)
        {
            foreach (var item in seq.Children)
            {
                var b = _src.Entries(item, "a binding", ["address", "user"]);
                var addressNode = YamlSource.Get(b, "address");
                var userNode = YamlSource.Get(b, "user");
                var addressText = _src.Scalar(addressNode, "address");
                var user = _src.Scalar(userNode, "user");
                if (addressText is null || user is null)
                {
                    _src.Error(item, Messages.BindingNeedsAddressAndUser);
                    continue;
                }

                if (!IPAddress.TryParse(addressText, out var address))
                {
                    _src.Error(addressNode!, Messages.BadAddress, addressText);
                    continue;
                }

                if (CheckUser(user, userNode!) && !bindings.TryAdd(PolicySnapshot.Canonical(address), user))
                {
                    _src.Error(addressNode!, Messages.AddressBoundTwice, addressText);
                }
            }
        }
        else if (YamlSource.Get(entries, "bindings") is { } other)
        {
            _src.Error(other, Messages.BindingsNotAList);
        }

        return (mode, bindings.ToFrozenDictionary());
    }

    private bool CheckUser(string user, YamlNode at)
    {
        // With a directory, people are known only when they sign in: any name may be theirs.
        if (_users.Find(user) is not null || _hasDirectory)
        {
            return true;
        }

        _src.Error(at, Messages.UnknownUser, user, Suggestions.DidYouMean(user, _users.Users.Select(u => u.UserName)));
        return false;
    }

    private (DomainMatcher, IReadOnlyList<ListSummary>) ReadCategories(YamlNode? node, YamlNode root)
    {
        var builder = new DomainMatcherBuilder();
        var pending = new List<(int ListId, string Category, string Path, ListFormat Format, int Skipped, DateTimeOffset? Modified, bool Statutory, YamlNode At)>();
        if (node is null)
        {
            _src.Error(root, Messages.MissingCategories);
            return (builder.Build(), []);
        }

        foreach (var (key, value) in _src.Entries(node, "categories"))
        {
            var name = key.Value!;
            if (_categories.ContainsKey(name))
            {
                _src.Error(key, Messages.DuplicateCategory, name);
                continue;
            }

            if (_categories.Count == 64)
            {
                _src.Error(key, Messages.TooManyCategories);
                continue;
            }

            var entries = _src.Entries(value, $"category '{name}'", ["description", "statutory", "alert", "alert_roles", "lists"]);
            var statutory = _src.Bool(YamlSource.Get(entries, "statutory"), "statutory") ?? false;
            var alertNode = YamlSource.Get(entries, "alert");
            var alert = alertNode is null ? (statutory ? AlertSeverity.High : AlertSeverity.None) : ReadSeverity(alertNode);
            var alertRoles = RoleMask(YamlSource.Get(entries, "alert_roles"), "alert_roles");
            var index = _categories.Count;
            _categories[name] = new CategoryDef(name, index, _src.Scalar(YamlSource.Get(entries, "description"), "description"), statutory, alert, alertRoles);

            var listsNode = YamlSource.Get(entries, "lists");
            if (listsNode is not YamlSequenceNode lists || lists.Children.Count == 0)
            {
                _src.Error(listsNode ?? value, Messages.CategoryNeedsLists, name);
                continue;
            }

            foreach (var item in lists.Children)
            {
                ReadList(item, name, index, statutory, builder, pending);
            }
        }

        var matcher = builder.Build();
        var summaries = new List<ListSummary>();
        foreach (var p in pending)
        {
            var count = matcher.EntryCount(p.ListId);
            if (p.Statutory && count == 0)
            {
                _src.Error(p.At, Messages.StatutoryListEmpty, p.Path);
            }

            summaries.Add(new ListSummary(p.Category, p.Path, p.Format.ToString().ToLowerInvariant(), count, p.Skipped, p.Modified));
        }

        return (matcher, summaries);
    }

    private void ReadList(
        YamlNode item,
        string category,
        int categoryIndex,
        bool statutory,
        DomainMatcherBuilder builder,
        List<(int, string, string, ListFormat, int, DateTimeOffset?, bool, YamlNode)> pending)
    {
        string? path;
        var format = ListFormat.Auto;
        var exact = false;
        FeedSpec? feed = null;
        YamlNode pathNode = item;
        if (item is YamlMappingNode)
        {
            var e = _src.Entries(item, "a list", ["path", "format", "exact", .. FeedCompiler.Keys]);
            pathNode = YamlSource.Get(e, "path") ?? item;
            path = _src.Scalar(YamlSource.Get(e, "path"), "path");
            if (path is null)
            {
                _src.Error(item, Messages.ListNeedsPath);
                return;
            }

            if (YamlSource.Get(e, "format") is { } formatNode && _src.Scalar(formatNode, "format") is { } f)
            {
                if (!Enum.TryParse(f, ignoreCase: true, out format) || !Enum.IsDefined(format) || char.IsDigit(f[0]))
                {
                    var names = Enum.GetNames<ListFormat>().Select(n => n.ToLowerInvariant());
                    _src.Error(formatNode, Messages.UnknownListFormat, f, Suggestions.DidYouMean(f, names));
                    return;
                }
            }

            exact = _src.Bool(YamlSource.Get(e, "exact"), "exact") ?? false;
            feed = FeedCompiler.Read(_src, _directory, e, item, category, path, statutory, format, exact);
            if (feed is not null)
            {
                _feeds.Add(feed);
                format = feed.StoredFormat;
            }
            else if (YamlSource.Get(e, "source") is not null)
            {
                return; // the feed's own diagnostics say why
            }
        }
        else
        {
            path = _src.Scalar(item, "a list path");
            if (path is null)
            {
                return;
            }
        }

        var full = Path.Combine(_directory, path);
        var isDirectory = System.IO.Directory.Exists(full);
        if (!isDirectory && !File.Exists(full))
        {
            if (feed is null)
            {
                _src.Error(pathNode, Messages.ListNotFound, path);
            }
            else
            {
                _src.Error(pathNode, Messages.ListNotFoundHasFeed, path, _directory);
            }

            return;
        }

        var files = isDirectory ? new[] { (Path.Combine(full, "domains"), path + "/domains"), (Path.Combine(full, "urls"), path + "/urls") } : [(full, path)];
        foreach (var (file, named) in files)
        {
            switch (PolicyFiles.Inspect(file, PolicyFiles.MaxListBytes))
            {
                case PolicyFiles.Check.NotRegular:
                    _src.Error(pathNode, Messages.FileNotRegular, "list", named);
                    return;
                case PolicyFiles.Check.TooLarge:
                    _src.Error(pathNode, Messages.FileTooLarge, "list", named, PolicyFiles.Size(PolicyFiles.MaxListBytes));
                    return;
            }
        }

        ParsedList parsed;
        try
        {
            parsed = ListReader.Read(full, path, format, exact, PolicyFiles.MaxListBytes);
        }
        catch (ListTooLargeException)
        {
            _src.Error(pathNode, Messages.FileTooLarge, "list", path, PolicyFiles.Size(PolicyFiles.MaxListBytes));
            return;
        }
        catch (IOException e)
        {
            _src.Error(pathNode, Messages.ListUnreadable, path, e.Message);
            return;
        }
        catch (UnauthorizedAccessException e)
        {
            _src.Error(pathNode, Messages.ListUnreadable, path, e.Message);
            return;
        }

        var listId = builder.AddList(path, categoryIndex);
        foreach (var entry in parsed.Entries)
        {
            builder.Add(listId, entry);
        }

        var shown = 0;
        foreach (var w in parsed.Warnings)
        {
            if (shown++ == MaxWarningsPerList)
            {
                break;
            }

            if (statutory)
            {
                // A statutory list must parse cleanly: a truncated or corrupted download must not silently shrink it.
                Diagnostics.Error(new SourceLocation(w.File, w.Line, 1), Messages.StatutoryLineMalformed, w.Message);
            }
            else
            {
                Diagnostics.Warning(new SourceLocation(w.File, w.Line, 1), Messages.ListLineSkipped, w.Message);
            }
        }

        if (parsed.SkippedLines > shown)
        {
            if (statutory)
            {
                Diagnostics.Error(new SourceLocation(path, 0, 0), Messages.StatutoryLinesMalformed, parsed.SkippedLines, path, parsed.SkippedLines - shown);
            }
            else
            {
                Diagnostics.Warning(new SourceLocation(path, 0, 0), Messages.ListLinesSkipped, parsed.SkippedLines, parsed.SkippedLines - shown);
            }
        }

        var modified = isDirectory ? System.IO.Directory.GetLastWriteTimeUtc(full) : File.GetLastWriteTimeUtc(full);
        var length = isDirectory ? 0 : new FileInfo(full).Length;
        _versionParts.Add($"{path}|{length}|{modified.Ticks}|{parsed.Entries.Count}");
        pending.Add((listId, category, path, parsed.Format, parsed.SkippedLines, new DateTimeOffset(modified, TimeSpan.Zero), statutory, pathNode));
    }

    private AlertSeverity ReadSeverity(YamlNode node)
    {
        switch (_src.Scalar(node, "alert")?.ToLowerInvariant())
        {
            case null: return AlertSeverity.None;
            case "false" or "no" or "none": return AlertSeverity.None;
            case "true" or "yes" or "medium": return AlertSeverity.Medium;
            case "low": return AlertSeverity.Low;
            case "high": return AlertSeverity.High;
            case var other:
                _src.Error(node, Messages.BadAlert, other);
                return AlertSeverity.None;
        }
    }

    private void ReadSchedules(YamlNode? node)
    {
        if (node is null)
        {
            return;
        }

        foreach (var (key, value) in _src.Entries(node, "schedules"))
        {
            var name = key.Value!;
            if (_schedules.ContainsKey(name))
            {
                _src.Error(key, Messages.DuplicateSchedule, name);
                continue;
            }

            var e = _src.Entries(value, $"schedule '{name}'", ["weekly", "calendar", "days", "timetable", "description"]);
            var weekly = new List<WeeklySpec>();
            if (YamlSource.Get(e, "weekly") is { } weeklyNode)
            {
                foreach (var (days, times) in _src.Entries(weeklyNode, $"the weekly windows of '{name}'"))
                {
                    if (_src.Scalar(times, "a time range") is { } t)
                    {
                        weekly.Add(new WeeklySpec(days.Value!, _src.At(days), t, _src.At(times)));
                    }
                }
            }

            var calendarNode = YamlSource.Get(e, "calendar");
            var daysNode = YamlSource.Get(e, "days");
            var timetableNode = YamlSource.Get(e, "timetable");
            var spec = new ScheduleSpec(
                name,
                _src.At(key),
                weekly,
                _src.Scalar(calendarNode, "calendar"),
                calendarNode is null ? default : _src.At(calendarNode),
                _src.Scalar(daysNode, "days"),
                daysNode is null ? default : _src.At(daysNode),
                _src.Scalar(timetableNode, "timetable"),
                timetableNode is null ? default : _src.At(timetableNode));
            foreach (var file in new[] { spec.Calendar, spec.Timetable })
            {
                if (file is not null && PolicyFiles.ReadQuietly(Path.Combine(_directory, file), PolicyFiles.MaxTableBytes) is { } scheduleText)
                {
                    _versionParts.Add(scheduleText);
                }
            }

            _schedules[name] = ScheduleCompiler.Compile(spec, _directory, _zone, Diagnostics);
        }
    }

    private Schedule? ScheduleRef(YamlNode? node, string what)
    {
        if (node is null || _src.Scalar(node, what) is not { } name)
        {
            return null;
        }

        if (_schedules.TryGetValue(name, out var schedule))
        {
            return schedule;
        }

        _src.Error(node, Messages.UnknownSchedule, name, Suggestions.DidYouMean(name, _schedules.Keys));
        return null;
    }

    private FrozenDictionary<string, DeniedUser> ReadDenied(YamlNode? node)
    {
        var result = new Dictionary<string, DeniedUser>(StringComparer.OrdinalIgnoreCase);
        if (node is null)
        {
            return result.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        }

        if (node is not YamlSequenceNode seq)
        {
            _src.Error(node, Messages.DeniedUsersNotAList);
            return result.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        }

        foreach (var item in seq.Children)
        {
            var e = _src.Entries(item, "a denied user", ["user", "reason", "by"]);
            var userNode = YamlSource.Get(e, "user");
            var user = _src.Scalar(userNode, "user");
            var reason = _src.Scalar(YamlSource.Get(e, "reason"), "reason");
            if (user is null || reason is null)
            {
                _src.Error(item, Messages.DeniedUserNeedsUserAndReason);
                continue;
            }

            if (CheckUser(user, userNode!))
            {
                result[user] = new DeniedUser(user, reason.TrimEnd('.'), _src.Scalar(YamlSource.Get(e, "by"), "by"));
            }
        }

        return result.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private ulong CategoryMask(IEnumerable<(string Value, YamlNode Node)> names)
    {
        var mask = 0UL;
        foreach (var (name, at) in names)
        {
            if (_categories.TryGetValue(name, out var c))
            {
                mask |= 1UL << c.Index;
            }
            else
            {
                _src.Error(at, Messages.UnknownCategory, name, Suggestions.DidYouMean(name, _categories.Keys));
            }
        }

        return mask;
    }

    private ulong StatutoryMask => _categories.Values.Where(c => c.Statutory).Aggregate(0UL, (m, c) => m | (1UL << c.Index));

    private FrozenSet<string>? Users(YamlNode? node, string what)
    {
        if (node is null)
        {
            return null;
        }

        var users = _src.ScalarList(node, what).Where(u => CheckUser(u.Value, u.Node)).Select(u => u.Value);
        return users.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The host patterns of a rule or exception. When <paramref name="allowedBy"/> names an allowing rule or exception,
    /// a pattern whose domain (or a parent of it) is in a statutory list, hashed lists included, is an error (PM0407):
    /// statutory content is decided first and cannot be allowed, and a policy that says otherwise is wrong.
    /// </summary>
    private ImmutableArray<HostPattern> Hosts(YamlNode? node, string? allowedBy = null)
    {
        var result = ImmutableArray.CreateBuilder<HostPattern>();
        foreach (var (text, at) in _src.ScalarList(node, "hosts"))
        {
            if (HostPattern.Parse(text, out var problem) is not { } pattern)
            {
                if (problem == "not a host name")
                {
                    _src.Error(at, Messages.BadHostPattern, text);
                }
                else
                {
                    _src.Error(at, Messages.BadHostPatternWhy, text, problem);
                }

                continue;
            }

            var normalised = pattern.Domain;

            if (allowedBy is not null && (_matcher.Match(normalised, ReadOnlySpan<char>.Empty) & StatutoryMask) is var statutory and not 0)
            {
                _src.Error(at, Messages.AllowsStatutoryHost, allowedBy, text, StatutoryName(statutory));
            }

            result.Add(pattern);
        }

        return result.ToImmutable();
    }

    /// <summary><c>connect: { bare_ip: allow | block }</c>: whether a CONNECT to an IP address (no name to judge) is refused.</summary>
    private void ReadConnect(YamlNode? node)
    {
        if (node is null)
        {
            return;
        }

        var entries = _src.Entries(node, "connect", ["bare_ip"]);
        if (YamlSource.Get(entries, "bare_ip") is not { } bareIp)
        {
            return;
        }

        switch (_src.Scalar(bareIp, "connect.bare_ip"))
        {
            case null:
                return;
            case "allow":
                _refuseBareIpConnect = false;
                return;
            case "block":
                _refuseBareIpConnect = true;
                return;
            case var other:
                _src.Error(bareIp, Messages.BadConnectBareIp, other, Suggestions.DidYouMean(other, ["allow", "block"]));
                return;
        }
    }

    private DecisionAction? ReadAction(YamlNode? node, string what)
    {
        switch (_src.Scalar(node, what))
        {
            case null: return null;
            case "allow": return DecisionAction.Allow;
            case "block": return DecisionAction.Block;
            case var other:
                _src.Error(node!, Messages.BadAction, what, other, Suggestions.DidYouMean(other, ["allow", "block"]));
                return null;
        }
    }

    private ImmutableArray<CompiledRule> ReadRules(YamlNode? node)
    {
        var rules = ImmutableArray.CreateBuilder<CompiledRule>();
        if (node is null)
        {
            return rules.ToImmutable();
        }

        if (node is not YamlSequenceNode seq)
        {
            _src.Error(node, Messages.RulesNotAList);
            return rules.ToImmutable();
        }

        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var shapes = new List<(RuleShape Shape, string Name, int Line)>();
        foreach (var item in seq.Children)
        {
            var e = _src.Entries(item, "a rule", RuleKeys);
            var nameNode = YamlSource.Get(e, "name");
            var name = _src.Scalar(nameNode, "name");
            if (name is null)
            {
                _src.Error(item, Messages.RuleNeedsName);
                continue;
            }

            var line = (int)item.Start.Line;
            if (!lines.TryAdd(name, line))
            {
                _src.Error(nameNode!, Messages.DuplicateRule, name, lines[name]);
            }

            var action = ReadAction(YamlSource.Get(e, "action"), "action");
            if (YamlSource.Get(e, "action") is null)
            {
                _src.Error(item, Messages.RuleHasNoAction, name);
            }

            var categoryNodes = _src.ScalarList(YamlSource.Get(e, "category"), "category")
                .Concat(_src.ScalarList(YamlSource.Get(e, "categories"), "categories")).ToList();
            var categoryMask = CategoryMask(categoryNodes);
            if (action == DecisionAction.Allow && (categoryMask & StatutoryMask) != 0)
            {
                _src.Error(categoryNodes[0].Node, Messages.RuleAllowsStatutory, name, StatutoryName(categoryMask));
            }

            var methods = _src.ScalarList(YamlSource.Get(e, "methods"), "methods");
            foreach (var (m, at) in methods)
            {
                if (!HttpMethods.Contains(m.ToUpperInvariant()))
                {
                    _src.Error(at, Messages.UnknownHttpMethod, m);
                }
            }

            var paths = _src.ScalarList(YamlSource.Get(e, "paths"), "paths");
            foreach (var (p, at) in paths)
            {
                if (!p.StartsWith('/') && !p.StartsWith('*'))
                {
                    _src.Error(at, Messages.BadPathPattern, p);
                }
            }

            var rule = new CompiledRule
            {
                Name = name,
                Line = line,
                Action = action ?? DecisionAction.Block,
                Reason = RuleReason(name, action ?? DecisionAction.Block, _src.Scalar(YamlSource.Get(e, "description"), "description"), e),
                RoleMask = RoleMask(YamlSource.Get(e, "roles"), "roles"),
                Users = Users(YamlSource.Get(e, "users"), "users"),
                NetworkMask = NetworkMask(YamlSource.Get(e, "networks")),
                CategoryMask = categoryMask,
                Hosts = Hosts(YamlSource.Get(e, "hosts"), action == DecisionAction.Allow ? $"rule '{name}'" : null),
                Methods = methods.Count == 0 ? null : methods.Select(m => m.Value.ToUpperInvariant()).ToFrozenSet(),
                Paths = paths.Select(p => PathPattern.Compile(p.Value)).ToImmutableArray(),
                During = ScheduleRef(YamlSource.Get(e, "during"), "during"),
                Outside = ScheduleRef(YamlSource.Get(e, "outside"), "outside"),
                Alert = YamlSource.Get(e, "alert") is { } alertNode ? ReadSeverity(alertNode) : AlertSeverity.None,
                Disabled = YamlSource.Get(e, "enabled") is { } enabledNode && !RuleEnabled.Read(_src, enabledNode),
            };

            var shape = RuleShape.Of(rule);
            foreach (var earlier in shapes)
            {
                if (earlier.Shape.Covers(shape))
                {
                    _src.Error(item, Messages.RuleNeverMatches, name, earlier.Name, earlier.Line);
                    break;
                }
            }

            if (!rule.Disabled)
            {
                shapes.Add((shape, name, line));
            }
            rules.Add(rule);
        }

        return rules.ToImmutable();
    }

    private string StatutoryName(ulong mask) =>
        _categories.Values.First(c => c.Statutory && (mask & (1UL << c.Index)) != 0).Name;

    private ulong NetworkMask(YamlNode? node, string what = "networks")
    {
        var mask = 0UL;
        foreach (var (name, at) in _src.ScalarList(node, what))
        {
            if (_networks.TryGetValue(name, out var n))
            {
                mask |= 1UL << n.Index;
            }
            else
            {
                _src.Error(at, Messages.UnknownNetwork, name, Suggestions.DidYouMean(name, _networks.Keys));
            }
        }

        return mask;
    }

    /// <summary>The rule's one-sentence reason, built once at load so deciding a request formats nothing.</summary>
    private static string RuleReason(string name, DecisionAction action, string? description, IReadOnlyList<(YamlScalarNode Key, YamlNode Value)> e)
    {
        var verb = action == DecisionAction.Allow ? "Allowed" : "Blocked";
        if (description is not null)
        {
            return $"{verb} by rule '{name}': {description.TrimEnd('.')}.";
        }

        var parts = new List<string>();
        void Add(string key, string prefix)
        {
            if (YamlSource.Get(e, key) is YamlSequenceNode s)
            {
                parts.Add(prefix + string.Join(", ", s.Children.OfType<YamlScalarNode>().Select(n => n.Value)));
            }
            else if (YamlSource.Get(e, key) is YamlScalarNode { Value: { } v })
            {
                parts.Add(prefix + v);
            }
        }

        Add("category", "category ");
        Add("categories", "categories ");
        Add("hosts", "hosts ");
        Add("methods", "method ");
        Add("paths", "paths ");
        Add("roles", "for ");
        Add("users", "for ");
        Add("networks", "on ");
        Add("during", "during ");
        Add("outside", "outside ");
        return parts.Count == 0 ? $"{verb} by rule '{name}'." : $"{verb} by rule '{name}' ({string.Join(", ", parts)}).";
    }

    private ImmutableArray<CompiledException> ReadExceptions(YamlNode? node)
    {
        var result = ImmutableArray.CreateBuilder<CompiledException>();
        if (node is null)
        {
            return result.ToImmutable();
        }

        if (node is not YamlSequenceNode seq)
        {
            _src.Error(node, Messages.ExceptionsNotAList);
            return result.ToImmutable();
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in seq.Children)
        {
            var e = _src.Entries(item, "an exception", ExceptionKeys);
            var nameNode = YamlSource.Get(e, "name");
            var name = _src.Scalar(nameNode, "name");
            if (name is null)
            {
                _src.Error(item, Messages.ExceptionNeedsName);
                continue;
            }

            if (!names.Add(name))
            {
                _src.Error(nameNode!, Messages.DuplicateException, name);
            }

            var users = Users(YamlSource.Get(e, "user") ?? YamlSource.Get(e, "users"), "user");
            var roleMask = RoleMask(YamlSource.Get(e, "role") ?? YamlSource.Get(e, "roles"), "role");
            if (users is null && roleMask == 0)
            {
                _src.Error(item, Messages.ExceptionNeedsUserOrRole, name);
            }

            var allow = _src.ScalarList(YamlSource.Get(e, "allow"), "allow");
            var categoryMask = CategoryMask(allow);
            if ((categoryMask & StatutoryMask) != 0)
            {
                _src.Error(YamlSource.Get(e, "allow")!, Messages.ExceptionAllowsStatutory, name, StatutoryName(categoryMask));
            }

            var hosts = Hosts(YamlSource.Get(e, "hosts"), $"exception '{name}'");
            if (allow.Count == 0 && hosts.IsEmpty)
            {
                _src.Error(item, Messages.ExceptionNeedsAllowOrHosts, name);
            }

            var grantedBy = _src.Scalar(YamlSource.Get(e, "granted_by"), "granted_by");
            var reason = _src.Scalar(YamlSource.Get(e, "reason"), "reason");
            var untilNode = YamlSource.Get(e, "until");
            if (grantedBy is null || reason is null || untilNode is null)
            {
                var missing = new[] { ("granted_by", grantedBy), ("reason", reason), ("until", _src.Scalar(untilNode, "until")) }
                    .Where(p => p.Item2 is null).Select(p => p.Item1);
                _src.Error(item, Messages.ExceptionNotAttributable, name, string.Join(", ", missing));
            }

            var from = ReadMoment(YamlSource.Get(e, "from"), endOfDay: false);
            var until = ReadMoment(untilNode, endOfDay: true);
            if (from is not null && until is not null && until <= from)
            {
                _src.Error(untilNode!, Messages.ExceptionEndsBeforeStart, name);
            }

            if (until is { } u && u <= Instant.FromDateTimeOffset(_now))
            {
                _src.Warning(untilNode!, Messages.ExceptionExpired, name, u.InZone(_zone));
            }

            var untilText = until?.InZone(_zone).ToString("yyyy-MM-dd HH:mm", null);
            result.Add(new CompiledException
            {
                Name = name,
                Reason = $"Allowed by exception '{name}', granted by {grantedBy} until {untilText}: {reason?.TrimEnd('.')}.",
                Users = users,
                RoleMask = roleMask,
                CategoryMask = categoryMask,
                Hosts = hosts,
                From = from,
                Until = until ?? Instant.MinValue,
                During = ScheduleRef(YamlSource.Get(e, "during"), "during"),
            });
        }

        return result.ToImmutable();
    }

    /// <summary>Date-times as people write them: to the minute or to the second (fractions allowed), in school local time.</summary>
    private static readonly LocalDateTimePattern[] LocalMoments =
    [
        LocalDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mm"),
        LocalDateTimePattern.ExtendedIso,
    ];

    /// <summary>The same with an explicit offset (<c>Z</c>, <c>+01:00</c>).</summary>
    private static readonly OffsetDateTimePattern[] OffsetMoments =
    [
        OffsetDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mmo<G>"),
        OffsetDateTimePattern.ExtendedIso,
    ];

    /// <summary>
    /// A date (<c>2026-12-18</c>: from its start, or when <paramref name="endOfDay"/>, until midnight after it, so
    /// the named day is included) or an ISO date-time to the minute or second (<c>2026-12-18T16:00</c>,
    /// <c>2026-12-18T16:00:30</c>), in school local time (the policy's zone) unless it carries an offset.
    /// </summary>
    private Instant? ReadMoment(YamlNode? node, bool endOfDay)
    {
        if (node is null || _src.Scalar(node, "a date") is not { } text)
        {
            return null;
        }

        if (LocalDatePattern.Iso.Parse(text) is { Success: true } date)
        {
            var day = endOfDay ? date.Value.PlusDays(1) : date.Value;
            return _zone.AtStartOfDay(day).ToInstant();
        }

        foreach (var pattern in OffsetMoments)
        {
            if (pattern.Parse(text) is { Success: true } offset)
            {
                return offset.Value.ToInstant();
            }
        }

        foreach (var pattern in LocalMoments)
        {
            if (pattern.Parse(text) is { Success: true } local)
            {
                return _zone.ResolveLocal(local.Value, NodaTime.TimeZones.Resolvers.LenientResolver).ToInstant();
            }
        }

        _src.Error(node, Messages.NotADateOrDateTime, text);
        return null;
    }
}
