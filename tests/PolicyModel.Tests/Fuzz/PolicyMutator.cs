using System.Text;

namespace PolicyModel.Tests.Fuzz;

/// <summary>
/// Makes broken copies of a sample policy directory, reproducibly from a seed: byte flips, line deletions and
/// duplications, truncation, YAML-structural edits (flow and block collections torn open, keys without values,
/// anchors and aliases, deep nesting, wrong value types) and list-file damage; now and then a file swapped for a
/// symbolic link to a device, a directory, or nothing. Each mutation says what it did, so a failure can be replayed.
/// </summary>
internal sealed class PolicyMutator
{
    private static readonly string[] Snippets =
    [
        ": ", "- { path: {}", "? ", "? [a, b]\n: c", "&a [*a]", "*a", "*undefined", "!!binary ?", "<<: *a", "!custom x",
        "key: &x { a: *x }", "{", "}", "[", "]", "- - - -", "---", "...", "%YAML 1.1", "%TAG ! tag:x,2000:", "|", ">-",
        "\"unterminated", "'unterminated", "a: b: c", "- : ", "{ : }", "[ : ]", "? : ", "\t- tab", "\0", "\uFEFF",
        "rules: []", "rules: {}", "rules:", "categories: ~", "default: maybe", "timezone: Mars/Olympus",
        "exceptions: [ { name: x, user: staff1, hosts: [\"*\"], until: 2026-13-45T25:61, granted_by: a, reason: b } ]",
        "  - { name: x, hosts: [\"*.*\", \"wildcard.example.org\", \"[::1]\", \"*.1.2.3.4\", \"..\", \"-a-.b\"], action: allow }",
        "  - { name: y, paths: [{}], methods: [[]], during: [], action: [allow] }",
        "networks: { a: { cidrs: [\"::/0\", \"0.0.0.0/0\", \"1.2.3.4/33\", \"x/y\", \"/\"] } }",
        "identity: { users: /dev/zero }", "identity: { users: . }", "identity: { users: \"\" }",
        "schedules: { s: { weekly: { mon-fri: \"25:00-26:00\" }, calendar: /dev/zero, timetable: . } }",
        "    lists: [ { path: /dev/zero }, { path: ., format: ut1 }, { path: lists, format: hashed }, { path: \"\" } ]",
        "    lists: [ ../policy.yaml, \"lists/\\0\", { path: lists/terrorism.sha256, format: 7 } ]",
    ];

    private static readonly char[] Specials =
        [':', '{', '}', '[', ']', '-', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '\t', '\n', '?', ',', '\0', ' ', '\r', '\\', '/', '.', 'é', '\u2028'];

    private readonly Random _random;
    private readonly List<string> _log = new();

    public PolicyMutator(int seed) => _random = new Random(seed);

    public IReadOnlyList<string> Log => _log;

    /// <summary>Applies one to three mutations to the files of <paramref name="directory"/> (a private copy).</summary>
    public void Mutate(string directory, IReadOnlyList<string> files)
    {
        var count = 1 + _random.Next(3);
        for (var i = 0; i < count; i++)
        {
            // policy.yaml most of the time: it is the richest input; then the files it names.
            var file = _random.Next(10) < 6 ? "policy.yaml" : files[_random.Next(files.Count)];
            MutateFile(directory, file);
        }
    }

    private void MutateFile(string directory, string file)
    {
        var path = Path.Combine(directory, file);
        if (!File.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            return;
        }

        var roll = _random.Next(100);
        if (roll < 2)
        {
            File.Delete(path);
            File.CreateSymbolicLink(path, OperatingSystem.IsWindows() ? "NUL" : "/dev/zero");
            _log.Add($"{file}: replaced by a link to /dev/zero");
            return;
        }

        if (roll < 3)
        {
            File.Delete(path);
            _log.Add($"{file}: deleted");
            return;
        }

        if (roll < 4)
        {
            File.Delete(path);
            Directory.CreateDirectory(path);
            _log.Add($"{file}: replaced by a directory");
            return;
        }

        var bytes = File.ReadAllBytes(path);
        var mutated = roll < 30 ? ByteLevel(bytes) : Encoding.UTF8.GetBytes(LineLevel(Encoding.UTF8.GetString(bytes)));
        File.WriteAllBytes(path, mutated);
        _log[^1] = $"{file}: {_log[^1]}";
    }

    private byte[] ByteLevel(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            _log.Add("empty, left");
            return bytes;
        }

        switch (_random.Next(4))
        {
            case 0:
            {
                var at = _random.Next(bytes.Length);
                _log.Add($"truncated at {at}");
                return bytes[..at];
            }
            case 1:
            {
                var copy = (byte[])bytes.Clone();
                var flips = 1 + _random.Next(4);
                var where = new List<int>();
                for (var i = 0; i < flips; i++)
                {
                    var at = _random.Next(copy.Length);
                    copy[at] = (byte)_random.Next(256);
                    where.Add(at);
                }

                _log.Add($"random bytes at {string.Join(",", where)}");
                return copy;
            }
            case 2:
            {
                var copy = (byte[])bytes.Clone();
                var at = _random.Next(copy.Length);
                copy[at] ^= (byte)(1 << _random.Next(8));
                _log.Add($"bit flipped at {at}");
                return copy;
            }
            default:
            {
                var at = _random.Next(bytes.Length);
                var c = Specials[_random.Next(Specials.Length)];
                _log.Add($"'{Escape(c.ToString())}' inserted at {at}");
                return [.. bytes[..at], .. Encoding.UTF8.GetBytes(c.ToString()), .. bytes[at..]];
            }
        }
    }

    private string LineLevel(string text)
    {
        var lines = text.Split('\n').ToList();
        var i = _random.Next(lines.Count);
        switch (_random.Next(10))
        {
            case 0:
                lines.RemoveAt(i);
                _log.Add($"line {i + 1} deleted");
                break;
            case 1:
                lines.Insert(i, lines[i]);
                _log.Add($"line {i + 1} duplicated");
                break;
            case 2:
            {
                var j = _random.Next(lines.Count);
                (lines[i], lines[j]) = (lines[j], lines[i]);
                _log.Add($"lines {i + 1} and {j + 1} swapped");
                break;
            }
            case 3:
            {
                var snippet = Snippets[_random.Next(Snippets.Length)];
                lines.Insert(i, snippet);
                _log.Add($"'{Escape(snippet)}' inserted as line {i + 1}");
                break;
            }
            case 4:
            {
                var delta = _random.Next(-4, 5);
                var lead = lines[i].Length - lines[i].TrimStart(' ').Length;
                lines[i] = delta >= 0 ? new string(' ', delta) + lines[i] : lines[i][Math.Min(-delta, lead)..];
                _log.Add($"line {i + 1} indented by {delta}");
                break;
            }
            case 5:
            {
                // A value replaced by another shape: "key: value" -> "key: {}" and the like.
                var colon = lines[i].IndexOf(": ", StringComparison.Ordinal);
                string[] values = ["{}", "[]", "~", "\"\"", "[[]]", "{ a: }", "-1", "1e999", "0x7fffffffffffffff", "yes", "&a x", "*a", "!!int x", new string('x', 5000)];
                var value = values[_random.Next(values.Length)];
                if (colon >= 0)
                {
                    lines[i] = lines[i][..(colon + 2)] + value;
                }
                else
                {
                    lines[i] += value;
                }

                _log.Add($"line {i + 1} value replaced by '{Escape(value[..Math.Min(value.Length, 20)])}'");
                break;
            }
            case 6:
            {
                var depth = _random.Next(2) == 0 ? 60 + _random.Next(10) : 100 + _random.Next(5000);
                var deep = _random.Next(2) == 0
                    ? new string('[', depth) + new string(']', depth)
                    : string.Concat(Enumerable.Range(0, Math.Min(depth, 300)).Select(d => "\n" + new string(' ', d * 2 + 2) + "k:"));
                lines.Insert(i, "deep: " + deep);
                _log.Add($"nesting {depth} deep inserted at line {i + 1}");
                break;
            }
            case 7:
            {
                // Tear a flow collection open or shut.
                var open = lines[i].IndexOfAny(['{', '[', '}', ']']);
                if (open >= 0)
                {
                    lines[i] = lines[i].Remove(open, 1);
                    _log.Add($"bracket removed at line {i + 1}");
                }
                else
                {
                    lines[i] = "{ " + lines[i];
                    _log.Add($"'{{' added at line {i + 1}");
                }

                break;
            }
            case 8:
            {
                // Garbage lines: what a corrupted list download looks like.
                var garbage = new StringBuilder();
                for (var k = 0; k < 1 + _random.Next(20); k++)
                {
                    garbage.Append((char)_random.Next(1, 0x3000));
                }

                lines.Insert(i, garbage.ToString());
                _log.Add($"garbage line inserted at {i + 1}");
                break;
            }
            default:
            {
                var keep = _random.Next(lines.Count + 1);
                lines = lines.Take(keep).ToList();
                _log.Add($"cut after line {keep}");
                break;
            }
        }

        return string.Join('\n', lines);
    }

    private static string Escape(string s) =>
        s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t").Replace("\0", "\\0");
}
