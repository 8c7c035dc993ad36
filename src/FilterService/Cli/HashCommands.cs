using System.CommandLine;
using PolicyModel.Documents;
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

    public static Command CreateHashList(TextWriter stdout)
    {
        var file = new Argument<FileInfo>("file") { Description = "A plain list: one host or host/path a line" };
        var command = new Command("hash-list", "Print the hashed (SHA-256) form of a plain list, for confidential lists") { file };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!.FullName;
            ListWriter.WriteHashed(File.ReadLines(path), stdout);
            return 0;
        });
        return command;
    }
}
