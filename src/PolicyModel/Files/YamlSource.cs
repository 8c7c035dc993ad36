using PolicyModel.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Files;

/// <summary>
/// Reads YAML with positions so every diagnostic can say <c>file:line:col</c>. Helpers report type errors
/// into the bag and return null rather than throwing, so one pass collects every problem.
/// </summary>
internal sealed class YamlSource
{
    private readonly DiagnosticBag _diagnostics;

    private YamlSource(string file, DiagnosticBag diagnostics)
    {
        File = file;
        _diagnostics = diagnostics;
    }

    public string File { get; }

    public DiagnosticBag Diagnostics => _diagnostics;

    /// <summary>
    /// Mappings and sequences nested deeper than this are refused (PM0108) before the tree is built: YamlDotNet
    /// builds it recursively, and a deep enough document overflows the stack, which no handler can catch. A policy
    /// needs about 6 levels.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>Parses <paramref name="text"/>; on a syntax error reports PM0100 (PM0108 for nesting) and returns null.</summary>
    public static (YamlSource Source, YamlNode? Root) Parse(string file, string text, DiagnosticBag diagnostics)
    {
        var source = new YamlSource(file, diagnostics);
        return (source, Load(file, text, diagnostics.Error, Messages.SyntaxError, Describe) is { Documents.Count: > 0 } stream
            ? stream.Documents[0].RootNode
            : null);
    }

    /// <summary>
    /// Loads a YAML stream with the depth limit, turning every failure of the YAML library into one located
    /// error: <paramref name="syntax"/> (its one hole takes the library's description) for bad syntax, PM0108 for nesting.
    /// Returns null after reporting.
    /// </summary>
    public static YamlStream? Load(string file, string text, Action<SourceLocation, DiagnosticMessage, object?[]> report, DiagnosticMessage syntax, Func<YamlException, string> describe)
    {
        var parser = new LimitedParser(new Parser(new StringReader(text)));
        try
        {
            var stream = new YamlStream();
            stream.Load(parser);
            return stream;
        }
        catch (TooDeepException e)
        {
            report(new SourceLocation(file, (int)e.Start.Line, (int)e.Start.Column), Messages.TooDeep, [MaxDepth]);
        }
        catch (YamlException e)
        {
            var at = e.Start.Line > 0 ? e.Start : parser.LastGood;
            report(new SourceLocation(file, (int)at.Line, (int)at.Column), syntax, [describe(e)]);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet throws these instead of a YamlException for some malformed input (an unclosed '{' before a
            // new line, a duplicate key); the best place we know is where the last thing that did parse ended.
            var at = parser.Where;
            report(new SourceLocation(file, (int)at.Line, (int)at.Column), syntax, ["malformed YAML near here"]);
        }

        return null;
    }

    private static string Describe(YamlException e)
    {
        var message = e.InnerException?.Message ?? e.Message;
        // YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: ...) - (...): "; the location goes in front instead.
        var cut = message.LastIndexOf("): ", StringComparison.Ordinal);
        if (cut >= 0 && message.StartsWith("(Line", StringComparison.Ordinal))
        {
            message = message[(cut + 3)..];
        }

        return message.TrimEnd('.');
    }

    /// <summary>Counts nesting as events stream past and stops at <see cref="MaxDepth"/>; remembers where the last good event ended.</summary>
    private sealed class LimitedParser(IParser inner) : IParser
    {
        private readonly bool[] _mapping = new bool[MaxDepth];
        private readonly int[] _children = new int[MaxDepth];
        private int _depth;

        public Mark LastGood { get; private set; } = new(0, 1, 1);

        public ParsingEvent? Current => inner.Current;

        /// <summary>
        /// Where a failure is best reported: if the scanner failed inside <see cref="MoveNext"/>, where the last good
        /// event ended; if the tree builder refused the current event (an empty key, say), where that event starts.
        /// </summary>
        public Mark Where => !_moving && inner.Current is { Start.Line: > 0 } current ? current.Start : LastGood;

        private bool _moving;

        public bool MoveNext()
        {
            _moving = true;
            var moved = inner.MoveNext();
            _moving = false;
            if (!moved || inner.Current is not { } current)
            {
                return moved;
            }

            // A key position of a mapping: an empty plain key is the ': value' form, which YamlDotNet 16 turns into a
            // lopsided event stream that fails far away (at the end of the document); no policy file has one.
            if (current is NodeEvent && _depth > 0 && _mapping[_depth - 1] && _children[_depth - 1]++ % 2 == 0
                && current is Scalar { Value: "", Style: ScalarStyle.Plain })
            {
                throw new YamlException(current.Start, current.End, "a key is missing before ':'");
            }

            switch (current)
            {
                case MappingStart or SequenceStart when ++_depth > MaxDepth:
                    throw new TooDeepException(current.Start, current.End);
                case MappingStart or SequenceStart:
                    _mapping[_depth - 1] = current is MappingStart;
                    _children[_depth - 1] = 0;
                    break;
                case MappingEnd or SequenceEnd when _depth > 0:
                    _depth--;
                    break;
            }

            LastGood = current.End;
            return true;
        }
    }

    private sealed class TooDeepException(Mark start, Mark end) : YamlException(start, end, "nested too deep");

    public SourceLocation At(YamlNode node) => new(File, (int)node.Start.Line, (int)node.Start.Column);

    public void Error(YamlNode node, DiagnosticMessage message, params object?[] args) => _diagnostics.Error(At(node), message, args);

    public void Warning(YamlNode node, DiagnosticMessage message, params object?[] args) => _diagnostics.Warning(At(node), message, args);

    /// <summary>The entries of a mapping, checking keys against <paramref name="allowed"/> (PM0102 with a suggestion).</summary>
    public IReadOnlyList<(YamlScalarNode Key, YamlNode Value)> Entries(YamlNode node, string what, IReadOnlyCollection<string>? allowed = null)
    {
        if (node is not YamlMappingNode mapping)
        {
            Error(node, Messages.NotAMapping, what);
            return [];
        }

        var result = new List<(YamlScalarNode, YamlNode)>(mapping.Children.Count);
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode key || string.IsNullOrEmpty(key.Value))
            {
                Error(keyNode, Messages.KeyNotPlainName, what);
                continue;
            }

            if (allowed is not null && !allowed.Contains(key.Value))
            {
                Error(key, Messages.UnknownKey, key.Value, what, Suggestions.DidYouMean(key.Value, allowed));
                continue;
            }

            // "key:" with nothing after it means the key is absent, not an empty string.
            if (value is YamlScalarNode { Value: "" or null, Style: YamlDotNet.Core.ScalarStyle.Plain })
            {
                continue;
            }

            result.Add((key, value));
        }

        return result;
    }

    public static YamlNode? Get(IReadOnlyList<(YamlScalarNode Key, YamlNode Value)> entries, string key)
    {
        foreach (var (k, v) in entries)
        {
            if (k.Value == key)
            {
                return v;
            }
        }

        return null;
    }

    public string? Scalar(YamlNode? node, string what)
    {
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode scalar && scalar.Value is not null)
        {
            return scalar.Value;
        }

        Error(node, Messages.NotAScalar, what);
        return null;
    }

    /// <summary>A sequence of scalars, or a single scalar taken as a one-item list.</summary>
    public List<(string Value, YamlNode Node)> ScalarList(YamlNode? node, string what)
    {
        var result = new List<(string, YamlNode)>();
        switch (node)
        {
            case null:
                break;
            case YamlScalarNode { Value: { Length: > 0 } value }:
                result.Add((value, node));
                break;
            case YamlSequenceNode sequence:
                foreach (var item in sequence.Children)
                {
                    if (item is YamlScalarNode { Value: { } v })
                    {
                        result.Add((v, item));
                    }
                    else
                    {
                        Error(item, Messages.ListItemNotScalar, what);
                    }
                }

                break;
            default:
                Error(node, Messages.NotAList, what);
                break;
        }

        return result;
    }

    public bool? Bool(YamlNode? node, string what)
    {
        var text = Scalar(node, what);
        switch (text?.ToLowerInvariant())
        {
            case null:
                return null;
            case "true" or "yes" or "on":
                return true;
            case "false" or "no" or "off":
                return false;
            default:
                Error(node!, Messages.BadBool, what, text);
                return null;
        }
    }
}
