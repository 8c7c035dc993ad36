using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FilterService.Admin.Editing;

/// <summary>
/// Comment- and layout-preserving edits of a YAML file (docs/console.md, "How the console edits files"). An edit
/// replaces only the lines of the node it changes; every other byte of the file stays as it was. A sequence item
/// (a rule, an exception, a denied user, a term) owns its lines and the comment and blank lines directly above it,
/// so removing or moving a rule takes its comments with it. Immutable: each edit returns the new text.
/// Paths are keys (<see cref="string"/>) and sequence indexes (<see cref="int"/>) from the root.
/// </summary>
internal sealed class YamlLayout
{
    private readonly string[] _lines;
    private readonly string _newline;

    private YamlLayout(string text, YamlNode? root)
    {
        Text = text;
        Root = root;
        _newline = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        _lines = text.Split('\n');
    }

    public string Text { get; }

    /// <summary>The document's root node; null for an empty file.</summary>
    public YamlNode? Root { get; }

    /// <summary>Parses <paramref name="text"/>; a syntax error throws <see cref="YamlException"/> (the loader reports it when the file is loaded).</summary>
    public static YamlLayout Parse(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return new YamlLayout(text, stream.Documents.Count > 0 ? stream.Documents[0].RootNode : null);
    }

    public YamlNode? Get(params object[] path)
    {
        var node = Root;
        foreach (var step in path)
        {
            node = (node, step) switch
            {
                (YamlMappingNode m, string key) => m.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: var k } && k == key).Value,
                (YamlSequenceNode s, int i) when i >= 0 && i < s.Children.Count => s.Children[i],
                _ => null,
            };
            if (node is null)
            {
                return null;
            }
        }
        return node;
    }

    /// <summary>The key node of <paramref name="key"/> in the mapping at <paramref name="path"/>.</summary>
    private YamlScalarNode? KeyNode(object[] path, string key) =>
        Get(path) is YamlMappingNode m ? m.Children.Keys.OfType<YamlScalarNode>().FirstOrDefault(k => k.Value == key) : null;

    /// <summary>The last line (1-based) holding any of <paramref name="node"/>'s text.</summary>
    internal static int LastLine(YamlNode node) => node switch
    {
        YamlMappingNode { Style: not YamlDotNet.Core.Events.MappingStyle.Flow } m when m.Children.Count > 0 =>
            m.Children.Max(c => Math.Max(LastLine(c.Key), LastLine(c.Value))),
        YamlSequenceNode { Style: not YamlDotNet.Core.Events.SequenceStyle.Flow } s when s.Children.Count > 0 => s.Children.Max(LastLine),
        // A block scalar (| or >) ends at the start of the line after it.
        YamlScalarNode { Style: ScalarStyle.Literal or ScalarStyle.Folded } when node.End.Column == 1 => (int)node.End.Line - 1,
        _ => (int)node.End.Line,
    };

    private static bool IsBlock(YamlNode node) => node switch
    {
        YamlSequenceNode s => s.Style != YamlDotNet.Core.Events.SequenceStyle.Flow,
        YamlMappingNode m => m.Style != YamlDotNet.Core.Events.MappingStyle.Flow,
        _ => false,
    };

    private bool IsCommentOrBlank(int line) => line >= 1 && line <= _lines.Length && _lines[line - 1].TrimStart() is var t && (t.Length == 0 || t.TrimEnd('\r').Length == 0 || t.StartsWith('#'));

    /// <summary>The first line of an item's chunk: its comment and blank lines directly above, down to <paramref name="floor"/>.</summary>
    private int ChunkStart(int firstLine, int floor)
    {
        var start = firstLine;
        while (start - 1 > floor && IsCommentOrBlank(start - 1))
        {
            start--;
        }
        return start;
    }

    /// <summary>The lines of each item of the block sequence at <paramref name="path"/>: (chunk start, item start, item end), 1-based, inclusive.</summary>
    public IReadOnlyList<(int Chunk, int First, int Last)> Items(params object[] path)
    {
        if (Get(path) is not YamlSequenceNode { } seq || !IsBlock(seq))
        {
            return [];
        }
        var floor = path.Length == 0 ? 0 : (int)Get(path[..^1])!.Start.Line;
        floor = path.Length > 0 && path[^1] is string key && KeyNode(path[..^1], key) is { } k ? (int)k.Start.Line : floor;
        var items = new List<(int, int, int)>();
        foreach (var item in seq.Children)
        {
            var first = (int)item.Start.Line;
            var last = LastLine(item);
            items.Add((ChunkStart(first, floor), first, last));
            floor = last;
        }
        return items;
    }

    private YamlLayout Splice(int firstLine, int lastLine, IEnumerable<string> replacement)
    {
        var lines = _lines.Take(firstLine - 1).Concat(replacement.Select(l => l + (_newline == "\r\n" ? "\r" : ""))).Concat(_lines.Skip(lastLine)).ToArray();
        return Parse(string.Join('\n', lines));
    }

    private YamlLayout SpliceChars(int start, int end, string replacement) => Parse(Text[..start] + replacement + Text[end..]);

    /// <summary>The indentation of the item markers of a block sequence (the column of its first <c>-</c>), or <paramref name="fallback"/>.</summary>
    private int MarkerIndent(YamlSequenceNode seq, int fallback)
    {
        if (seq.Children.Count == 0)
        {
            return fallback;
        }
        var line = _lines[(int)seq.Children[0].Start.Line - 1];
        var dash = line.IndexOf('-');
        return dash >= 0 ? dash : fallback;
    }

    /// <summary>Replaces item <paramref name="index"/>'s own lines (not the comments above it) with <paramref name="item"/>.</summary>
    public YamlLayout ReplaceItem(object[] path, int index, YamlMap item)
    {
        var seq = (YamlSequenceNode)Get(path)!;
        var node = seq.Children[index];
        if (!IsBlock(seq))
        {
            return SpliceChars((int)node.Start.Index, (int)node.End.Index, YamlRender.Flow(item));
        }
        var (_, first, last) = Items(path)[index];
        return Splice(first, last, YamlRender.BlockItem(item, MarkerIndent(seq, 2)));
    }

    /// <summary>Removes item <paramref name="index"/> with the comment and blank lines directly above it.</summary>
    public YamlLayout RemoveItem(object[] path, int index)
    {
        var seq = (YamlSequenceNode)Get(path)!;
        if (!IsBlock(seq))
        {
            var node = seq.Children[index];
            var (start, end) = ((int)node.Start.Index, (int)node.End.Index);
            // The separating comma: the one after the item, or before it for the last.
            var after = Text.IndexOf(',', end);
            if (index < seq.Children.Count - 1 && after >= 0)
            {
                end = after + 1;
                while (end < Text.Length && Text[end] == ' ') end++;
            }
            else if (index > 0)
            {
                start = Text.LastIndexOf(',', start - 1);
            }
            return SpliceChars(start, end, "");
        }
        var (chunk, _, last) = Items(path)[index];
        return Splice(chunk, last, []);
    }

    /// <summary>
    /// Inserts <paramref name="item"/> before item <paramref name="index"/> (at the end when it equals the count). A
    /// missing top-level key is added at the end of the file; an empty flow sequence (<c>[]</c>) becomes a block one.
    /// </summary>
    public YamlLayout InsertItem(object[] path, int index, YamlMap item)
    {
        var node = Get(path);
        if (node is null)
        {
            if (path.Length != 1 || path[0] is not string key)
            {
                throw new InvalidOperationException($"no sequence at {string.Join('.', path)}");
            }
            var end = Text.Length > 0 && !Text.EndsWith('\n') ? _newline : "";
            return Parse(Text + end + $"{key}:{_newline}" + string.Join(_newline, YamlRender.BlockItem(item, 2)) + _newline);
        }
        var seq = (YamlSequenceNode)node;
        if (!IsBlock(seq))
        {
            if (seq.Children.Count == 0 && path.Length == 1)
            {
                var keyLine = (int)KeyNode([], (string)path[0])!.Start.Line;
                var key = (string)path[0];
                return Splice(keyLine, LastLine(seq), [$"{key}:", .. YamlRender.BlockItem(item, 2)]);
            }
            var at = index < seq.Children.Count ? (int)seq.Children[index].Start.Index : Text.LastIndexOf(']', (int)seq.End.Index - 1);
            var text = YamlRender.Flow(item);
            return SpliceChars(at, at, index < seq.Children.Count ? text + ", " : (seq.Children.Count > 0 ? ", " : "") + text);
        }
        var items = Items(path);
        var rendered = YamlRender.BlockItem(item, MarkerIndent(seq, 2));
        return index < items.Count
            ? Splice(items[index].Chunk, items[index].Chunk - 1, rendered)
            : Splice(items[^1].Last + 1, items[^1].Last, rendered);
    }

    /// <summary>Moves item <paramref name="from"/> (with its comments) so that it becomes item <paramref name="to"/>.</summary>
    public YamlLayout MoveItem(object[] path, int from, int to)
    {
        var items = Items(path);
        if (items.Count == 0 || from == to)
        {
            return this;
        }
        var chunks = items.Select(i => _lines[(i.Chunk - 1)..i.Last]).ToList();
        var moving = chunks[from];
        chunks.RemoveAt(from);
        chunks.Insert(to, moving);
        var lines = _lines.Take(items[0].Chunk - 1).Concat(chunks.SelectMany(c => c)).Concat(_lines.Skip(items[^1].Last)).ToArray();
        return Parse(string.Join('\n', lines));
    }

    /// <summary>
    /// Sets <paramref name="key"/> in the mapping at <paramref name="path"/> to <paramref name="value"/> (one line,
    /// flow style), or removes it when <paramref name="value"/> is null. An existing entry's lines are replaced; a new
    /// one goes after the mapping's last entry, at its indentation.
    /// </summary>
    public YamlLayout SetEntry(object[] path, string key, object? value)
    {
        if (Get(path) is not YamlMappingNode map)
        {
            throw new InvalidOperationException($"no mapping at {string.Join('.', path)}");
        }
        var keyNode = KeyNode(path, key);
        if (!IsBlock(map))
        {
            return SetFlowEntry(map, keyNode, key, value);
        }
        var pad = map.Children.Count > 0 ? new string(' ', (int)map.Children.Keys.First().Start.Column - 1) : "  ";
        var line = value is null ? null : $"{pad}{YamlRender.Scalar(key)}: {YamlRender.Flow(value)}";
        if (keyNode is not null)
        {
            var first = (int)keyNode.Start.Line;
            var last = LastLine(map.Children[keyNode]);
            var own = _lines[first - 1].TrimStart().StartsWith('-');
            if (own && line is not null)
            {
                // The first key of a sequence item shares the "- " line: keep the marker.
                var lineText = _lines[first - 1];
                var dash = lineText.IndexOf('-');
                line = lineText[..(dash + 2)] + line.TrimStart();
            }
            if (own && line is null)
            {
                throw new InvalidOperationException($"'{key}' is the first key of its item; replace the item instead");
            }
            return Splice(first, last, line is null ? [] : [line]);
        }
        if (line is null)
        {
            return this;
        }
        if (map.Children.Count == 0)
        {
            throw new InvalidOperationException($"empty mapping at {string.Join('.', path)}");
        }
        var end = LastLine(map);
        return Splice(end + 1, end, [line]);
    }

    private YamlLayout SetFlowEntry(YamlMappingNode map, YamlScalarNode? keyNode, string key, object? value)
    {
        if (keyNode is not null)
        {
            var valueNode = map.Children[keyNode];
            if (value is not null)
            {
                return SpliceChars((int)valueNode.Start.Index, (int)valueNode.End.Index, YamlRender.Flow(value));
            }
            // Remove "key: value" and one separating comma.
            var (start, end) = ((int)keyNode.Start.Index, (int)valueNode.End.Index);
            var before = Text.LastIndexOf(',', start);
            if (before > (int)map.Start.Index)
            {
                start = before;
            }
            else if (Text.IndexOf(',', end) is var after and >= 0 && after < (int)map.End.Index)
            {
                end = after + 1;
                while (end < Text.Length && Text[end] == ' ') end++;
            }
            return SpliceChars(start, end, "");
        }
        if (value is null)
        {
            return this;
        }
        var close = Text.LastIndexOf('}', (int)map.End.Index - 1);
        var insert = $"{YamlRender.Scalar(key)}: {YamlRender.Flow(value)}";
        var trimmed = close;
        while (trimmed > 0 && Text[trimmed - 1] == ' ') trimmed--;
        return map.Children.Count == 0 ? SpliceChars(close, close, " " + insert + " ") : SpliceChars(trimmed, trimmed, ", " + insert);
    }
}
