using System.Text;
using System.Text.RegularExpressions;

namespace FilterService.Admin.Editing;

/// <summary>
/// A value the console writes into YAML: a scalar (<see cref="string"/>), a list of scalars, or a small mapping
/// (<see cref="YamlMap"/>); a <see cref="bool"/> is written <c>true</c> or <c>false</c>. Rendered by hand, so that what is written is exactly what a person would write.
/// </summary>
internal sealed record YamlMap(IReadOnlyList<KeyValuePair<string, object>> Entries)
{
    public static YamlMap Of(params (string Key, object? Value)[] entries) =>
        new(entries.Where(e => e.Value is not null && !(e.Value is string s && s.Length == 0) && !(e.Value is IReadOnlyList<string> { Count: 0 }))
            .Select(e => new KeyValuePair<string, object>(e.Key, e.Value!)).ToList());
}

internal static partial class YamlRender
{
    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_ .\-/@+]*$")]
    private static partial Regex PlainPattern();

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
        { "true", "false", "yes", "no", "on", "off", "null", "y", "n" };

    /// <summary>A scalar, plain when that is unambiguous (<c>social</c>, <c>2026-12-18</c>), double-quoted otherwise.</summary>
    public static string Scalar(string value)
    {
        if (PlainPattern().IsMatch(value) && !value.EndsWith(' ') && !Reserved.Contains(value))
        {
            return value;
        }
        var sb = new StringBuilder("\"");
        foreach (var c in value)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                _ when char.IsControl(c) || c is '\u2028' or '\u2029' or '\uFEFF' => $"\\u{(int)c:X4}",
                _ => c.ToString(),
            });
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A value on one line: <c>x</c>, <c>[a, b]</c>, <c>{ k: v, k2: [a] }</c>.</summary>
    public static string Flow(object value) => value switch
    {
        string s => Scalar(s),
        bool b => b ? "true" : "false",
        IReadOnlyList<string> list => "[" + string.Join(", ", list.Select(Scalar)) + "]",
        YamlMap map => "{ " + string.Join(", ", map.Entries.Select(e => $"{Scalar(e.Key)}: {Flow(e.Value)}")) + " }",
        _ => throw new ArgumentException($"cannot render {value.GetType().Name}"),
    };

    /// <summary>
    /// A sequence item in block style, one key a line, at <paramref name="indent"/> spaces before its <c>-</c>:
    /// <code>
    ///   - name: x
    ///     roles: [pupil]
    /// </code>
    /// </summary>
    public static IReadOnlyList<string> BlockItem(YamlMap map, int indent)
    {
        var lines = new List<string>();
        var pad = new string(' ', indent);
        foreach (var (key, value) in map.Entries)
        {
            lines.Add($"{pad}{(lines.Count == 0 ? "- " : "  ")}{Scalar(key)}: {Flow(value)}");
        }
        return lines;
    }
}
