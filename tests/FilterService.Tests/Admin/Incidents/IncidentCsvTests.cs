using System.Globalization;
using System.Security.Claims;
using System.Text;
using CsvHelper;
using FilterService.Admin;
using FilterService.Admin.Incidents;

namespace FilterService.Tests.Admin.Incidents;

public sealed class IncidentCsvTests
{
    private static readonly PupilNames Names = new(["pupil"], Enumerable.Range(1, 32).Select(b => (byte)b).ToArray());
    private static readonly TimeZoneInfo London = TimeZoneInfo.FindSystemTimeZoneById("Europe/London");

    private static ClaimsPrincipal Viewer(string role) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, role + "1"), new Claim(ClaimTypes.Role, role)], "test"));

    private static IncidentExportRow Row(string? displayName = "Pat \"PJ\" Pupil, Year 9", string? action = "=HYPERLINK(\"http://evil.test\",\"click\")",
        string? outcome = "Line one\nline two") => new(
        new IncidentSummary("a1", new DateTimeOffset(2026, 7, 1, 8, 5, 0, TimeSpan.Zero), "pupil1", displayName, ["pupil"], "10.40.0.7", "pupil-lan",
            "http://blocked-terror.test/page?a=1,b=2", "terrorism", "statutory:terrorism", "High", 3, IncidentState.Closed, "dsl2", action, outcome),
        new DateTimeOffset(2026, 7, 1, 8, 9, 0, TimeSpan.Zero), "dsl1");

    private static async Task<string> ExportAsync(ClaimsPrincipal viewer, params IncidentExportRow[] rows)
    {
        var text = new StringWriter();
        await IncidentCsv.WriteAsync(text, rows, Names, viewer, London);
        return text.ToString();
    }

    private static List<string[]> Parse(string csv)
    {
        using var reader = new CsvReader(new StringReader(csv), CultureInfo.InvariantCulture);
        var rows = new List<string[]>();
        while (reader.Read())
        {
            rows.Add(Enumerable.Range(0, reader.Parser.Count).Select(i => reader.GetField(i)!).ToArray());
        }
        return rows;
    }

    [Fact]
    public async Task Write_DslExport_QuotedRfc4180WithNamesLocalTimesAndEveryColumn()
    {
        var csv = await ExportAsync(Viewer(ConsoleRoles.Dsl), Row());

        var rows = Parse(csv);
        Assert.Equal(IncidentCsv.Header, rows[0]);
        var row = rows[1];
        Assert.Equal(IncidentCsv.Header.Count, row.Length);
        Assert.Equal(["a1", "2026-07-01", "09:05", "Pat \"PJ\" Pupil, Year 9", "pupil1", "pupil", "terrorism", "High"], row[..8]);
        Assert.Equal("The web filter blocked http://blocked-terror.test/page?a=1,b=2: terrorism (rule statutory:terrorism), high severity; 3 attempts, the last at 09:09", row[8]);
        Assert.Equal("Line one\nline two", row[10]);
        Assert.Equal(["dsl2", "Closed", "3", "2026-07-01 09:09", "10.40.0.7", "pupil-lan", "http://blocked-terror.test/page?a=1,b=2"], row[11..]);
        Assert.Contains("\"Pat \"\"PJ\"\" Pupil, Year 9\"", csv);
        Assert.Contains(",\"Line one\nline two\",", csv); // a bare LF is quoted too, not only the CRLF row end
        Assert.EndsWith("\r\n", csv);
    }

    [Theory]
    [InlineData("=HYPERLINK(\"http://evil.test\",\"click\")")]
    [InlineData("+cmd|' /C calc'!A0")]
    [InlineData("-2+3")]
    [InlineData("@SUM(A1:A9)")]
    [InlineData("\t=1+1")]
    public async Task Write_CellStartingWithAFormulaCharacter_GetsALeadingApostrophe(string action)
    {
        var row = Parse(await ExportAsync(Viewer(ConsoleRoles.Dsl), Row(action: action)))[1];
        Assert.Equal("'" + action, row[9]);
    }

    [Fact]
    public async Task Write_DisplayNameStartingWithEquals_IsNeutralisedToo()
    {
        var row = Parse(await ExportAsync(Viewer(ConsoleRoles.Dsl), Row(displayName: "=1+1")))[1];
        Assert.Equal("'=1+1", row[3]);
    }

    [Theory]
    [InlineData(ConsoleRoles.IctManager)]
    [InlineData(ConsoleRoles.Auditor)]
    public async Task Write_NotDsl_PupilsArePseudonymsNeverNames(string role)
    {
        var csv = await ExportAsync(Viewer(role), Row());

        var row = Parse(csv)[1];
        Assert.Equal(Names.Pseudonym("pupil1"), row[3]);
        Assert.Equal(Names.Pseudonym("pupil1"), row[4]);
        Assert.DoesNotContain("Pat", csv);
        Assert.DoesNotContain("pupil1", csv);
    }

    [Fact]
    public void Utf8WithBom_StartsWithTheByteOrderMark() =>
        Assert.Equal(Encoding.UTF8.Preamble.ToArray(), IncidentCsv.Utf8WithBom.GetPreamble());
}
