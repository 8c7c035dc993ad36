using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace FilterService.Admin;

/// <summary>
/// How the console writes CSV (incidents, the change history): RFC 4180 through CsvHelper (a field with a comma, quote,
/// CR or LF quoted, quotes doubled, CRLF rows), and every cell a spreadsheet would run as a formula (starting with
/// <c>=</c> <c>+</c> <c>-</c> <c>@</c>, a tab or a carriage return) given a leading apostrophe: free text typed by one
/// admin (a reason, an action) must not run in another's spreadsheet.
/// </summary>
internal static class ConsoleCsv
{
    public static readonly CsvConfiguration Configuration = new(CultureInfo.InvariantCulture)
    {
        NewLine = "\r\n",
        InjectionOptions = InjectionOptions.Escape,
        InjectionEscapeCharacter = '\'',
        InjectionCharacters = ['=', '@', '+', '-', '\t', '\r'],
        // CsvHelper quotes on the configured row end (CRLF) only; free text with a bare LF must be quoted as well.
        ShouldQuote = args => args.Field is { } f && f.AsSpan().IndexOfAny(",\"\r\n") >= 0,
    };

    /// <summary>The header and rows as one CSV text.</summary>
    public static string Write(IEnumerable<string> header, IEnumerable<IEnumerable<string>> rows)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(text, Configuration, leaveOpen: true))
        {
            foreach (var row in rows.Prepend(header))
            {
                foreach (var field in row)
                {
                    csv.WriteField(field);
                }
                csv.NextRecord();
            }
        }
        return text.ToString();
    }
}
