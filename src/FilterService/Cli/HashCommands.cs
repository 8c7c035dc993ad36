using System.CommandLine;
using PolicyModel.Decisions;
using PolicyModel.Files;
using PolicyModel.Matching;

namespace FilterService.Cli;

/// <summary>Helpers for writing policy files without ever storing a password or a confidential list in plain text.</summary>
internal static class HashCommands
{
    public static Command CreateHashPassword(TextWriter stdout, TextReader stdin)
    {
        var iterations = new Option<int>("--iterations") { Description = "PBKDF2 iterations", DefaultValueFactory = _ => PasswordHash.DefaultIterations };
        var command = new Command("hash-password", "Read a password on standard input and print its users.csv hash") { iterations };
        command.SetAction(parse =>
        {
            var password = stdin.ReadLine();
            if (string.IsNullOrEmpty(password))
            {
                stdout.WriteLine("no password on standard input");
                return 1;
            }

            stdout.WriteLine(PasswordHash.Create(password, parse.GetValue(iterations)));
            return 0;
        });
        return command;
    }

    public static Command CreateHashList(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<FileInfo>("file") { Description = "A plain list: one host or host/path a line" };
        var command = new Command("hash-list", "Print the hashed (SHA-256) form of a plain list, for confidential lists") { file };
        command.SetAction(parse =>
        {
            var info = parse.GetValue(file)!;
            var shown = info.ToString();
            // The same limits as the policy loader's for a list; a confidential list is refused whole, never written
            // with a line left out: the output would silently block less than the input says.
            var check = PolicyFiles.Inspect(info.FullName, PolicyFiles.MaxListBytes);
            if (check != PolicyFiles.Check.Ok)
            {
                stderr.WriteLine($"{shown}: error: {PolicyFiles.Describe(check, shown, PolicyFiles.MaxListBytes)}");
                return 1;
            }

            string? text;
            try
            {
                text = PolicyFiles.ReadBounded(info.FullName, PolicyFiles.MaxListBytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"{shown}: error: cannot read: {e.Message}");
                return 1;
            }

            if (text is null)
            {
                stderr.WriteLine($"{shown}: error: {PolicyFiles.Describe(PolicyFiles.Check.TooLarge, shown, PolicyFiles.MaxListBytes)}");
                return 1;
            }

            var hashed = new StringWriter();
            try
            {
                ListWriter.WriteHashed(text.Split(["\r\n", "\r", "\n"], StringSplitOptions.None), hashed);
            }
            catch (InvalidListEntryException e)
            {
                stderr.WriteLine($"{shown}:{e.Line}: error: '{e.Entry.Trim()}' is not a valid host name or host/path; nothing written");
                return 1;
            }

            stdout.Write(hashed.ToString());
            return 0;
        });
        return command;
    }
}
