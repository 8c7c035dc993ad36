using System.Text.RegularExpressions;
using FilterService.Admin;
using FilterService.Admin.Incidents;
using FilterService.Tests.TestSupport;
using Microsoft.Playwright;

namespace FilterService.Tests.Admin.Incidents;

/// <summary>
/// Issue 19's first must-show, end to end: the service as its own process with alerts to a real aiosmtpd, accounts made
/// by the CLI, a pupil's statutory attempt through the proxy (curl), and real Chromium for the DSL, an auditor and an
/// ICT manager. Screenshots under the test output's screenshots/ folder.
/// </summary>
public sealed class IncidentConsoleTests(Xunit.Abstractions.ITestOutputHelper output, ConsoleBrowserHost browsers) : IClassFixture<ConsoleBrowserHost>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Issue19_PupilsStatutoryAttempt_InTheDslsInboxWithinSeconds_HandledToClosed_AuditorReadsOnly_IctManagerSeesNoName()
    {
        await using var smtp = await SmtpSink.StartAsync();
        var data = TempDir.Create("console");
        string[] settings = [
            $"--Policy:Path={Samples.CopyDefault()}", $"--Audit:Path={TempDir.Create("audit")}", $"--Alerts:Outbox:Path={TempDir.Create("outbox")}",
            $"--Console:DataPath={data}", "--Alerts:PollInterval=00:00:00.3",
            "--Alerts:Smtp:Host=127.0.0.1", $"--Alerts:Smtp:Port={smtp.Port}", "--Alerts:Smtp:StartTls=false",
            "--Alerts:Email:From=filter@school.test", "--Alerts:Email:To=dsl@school.test",
        ];
        // The console's public address is the admin endpoint itself (a free port picked first), so the email's link can be followed.
        int adminPort = SmtpSink.FreePort();
        string[] withUrl = [.. settings, $"--Admin:Listen=127.0.0.1:{adminPort}", $"--Console:PublicUrl=http://127.0.0.1:{adminPort}/"];
        await using var service = await ServiceProcess.StartAsync(withUrl);
        await AdminAccounts.AddAsync(settings, "dsl1", ConsoleRoles.Dsl);
        await AdminAccounts.AddAsync(settings, "dsl2", ConsoleRoles.Dsl);
        await AdminAccounts.AddAsync(settings, "audrey", ConsoleRoles.Auditor);
        await AdminAccounts.AddAsync(settings, "ict1", ConsoleRoles.IctManager);

        await using var dsl = await browsers.NewAsync();
        await dsl.SignInAsync(service.AdminUrl, "dsl1", AdminAccounts.Password);

        var attempted = DateTime.UtcNow;
        await DeployedIncidentTests.PupilTriesTerrorAsync(service);

        // 1. In the inbox within seconds, with the pupil's name (the DSL sees names).
        var row = dsl.Page.Locator("tr[data-incident]");
        while (await row.CountAsync() == 0)
        {
            Assert.True(DateTime.UtcNow - attempted < Bound, "no incident in the inbox within " + Bound + ":\n" + service.Output);
            await dsl.Page.GotoAsync(service.AdminUrl + "/incidents");
        }
        var seenAfter = DateTime.UtcNow - attempted;
        output.WriteLine($"in the DSL's inbox {seenAfter.TotalSeconds:0.0} s after the attempt (page reloads included)");
        Assert.Equal("Pat Pupil", (await row.Locator(".who").InnerTextAsync()).Trim());
        Assert.Equal("New", (await row.Locator(".state").InnerTextAsync()).Trim());
        Assert.Contains("New (1)", await dsl.Page.Locator("nav.tabs").InnerTextAsync());
        var id = (await row.GetAttributeAsync("data-incident"))!;
        await dsl.ScreenshotAsync("incidents-inbox-dsl.png");

        // 2. The alert email links to the incident's page; the DSL follows it.
        var mail = Regex.Replace(Assert.Single(await smtp.WaitForAsync(1, Bound)), @"\r?\n[ \t]+", " ");
        var link = Regex.Match(mail, @"(?m)^Incident page: +(\S+)\r?$").Groups[1].Value;
        Assert.Equal($"{service.AdminUrl}/incidents/{id}", link);
        await dsl.Page.GotoAsync(link);
        Assert.Equal("Pat Pupil", (await dsl.Page.Locator("#who").InnerTextAsync()).Trim());

        // 3. Acknowledge, assign to the deputy (only an enabled dsl account is accepted), record an action and an outcome, close.
        await dsl.Page.ClickAsync("#acknowledge");
        await Assertions.Expect(dsl.Page.Locator("#state")).ToHaveTextAsync("Acknowledged");
        Assert.Equal(["dsl1", "dsl2"], await dsl.Page.Locator("#assignee option").AllInnerTextsAsync());
        Assert.Equal(400, await PostAsync(dsl, $"/incidents/{id}?handler=Assign", ("assignee", "audrey")));
        await dsl.Page.SelectOptionAsync("#assignee", "dsl2");
        await dsl.Page.ClickAsync("#assign");
        await Assertions.Expect(dsl.Page.Locator("#assigned")).ToHaveTextAsync("dsl2");
        await dsl.Page.FillAsync("#action-text", "Spoke to Pat with the head of year; parents called.");
        await dsl.Page.ClickAsync("#record-action");
        await Assertions.Expect(dsl.Page.Locator("#state")).ToHaveTextAsync("Actioned");
        await dsl.Page.FillAsync("#outcome-text", "No Prevent referral needed; follow-up lesson on online radicalisation.");
        await dsl.Page.ClickAsync("#record-outcome");
        await Assertions.Expect(dsl.Page.Locator("#outcome")).ToHaveTextAsync("No Prevent referral needed; follow-up lesson on online radicalisation.");
        await dsl.Page.ClickAsync("#close");
        await Assertions.Expect(dsl.Page.Locator("#state")).ToHaveTextAsync("Closed");
        Assert.Equal(0, await dsl.Page.Locator("form button#close").CountAsync());

        // 4. The history: each step with who and when.
        var steps = dsl.Page.Locator("#steps li");
        Assert.Equal(["raised", "acknowledged", "assigned", "action", "outcome", "closed"], await steps.EvaluateAllAsync<string[]>("l => l.map(e => e.dataset.what)"));
        Assert.Equal(["filter", "dsl1", "dsl1", "dsl1", "dsl1", "dsl1"], (await steps.Locator(".who").AllInnerTextsAsync()).Select(s => s.Trim()));
        Assert.Equal("dsl2", (await steps.Nth(2).Locator(".detail").InnerTextAsync()).Trim());
        foreach (var when in await steps.Locator("time").EvaluateAllAsync<string[]>("l => l.map(e => e.getAttribute('datetime'))"))
        {
            Assert.InRange(DateTimeOffset.Parse(when, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime, attempted.AddSeconds(-5), DateTime.UtcNow.AddSeconds(5));
        }
        await dsl.ScreenshotAsync("incident-closed-dsl.png");
        await dsl.Page.SetViewportSizeAsync(390, 844);
        await dsl.Page.ReloadAsync();
        Assert.False(await dsl.HasHorizontalScrollAsync());
        await dsl.ScreenshotAsync("incident-closed-dsl-390.png");
        // The inbox's export form (default range: the last 30 days) downloads the CSV, with names for the DSL.
        await dsl.Page.GotoAsync(service.AdminUrl + "/incidents");
        var download = await dsl.Page.RunAndWaitForDownloadAsync(() => dsl.Page.ClickAsync("#export"));
        var file = Path.Combine(TempDir.Create("export"), download.SuggestedFilename);
        await download.SaveAsAsync(file);
        Assert.Matches(@"^incidents-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$", download.SuggestedFilename);
        var bytes = await File.ReadAllBytesAsync(file);
        Assert.Equal(System.Text.Encoding.UTF8.Preamble.ToArray(), bytes[..3]);
        var dslCsv = System.Text.Encoding.UTF8.GetString(bytes[3..]);
        Assert.StartsWith(string.Join(',', IncidentCsv.Header) + "\r\n", dslCsv);
        Assert.Contains($"{id},", dslCsv);
        Assert.Contains(",Pat Pupil,pupil1,pupil,terrorism,High,", dslCsv);
        Assert.Contains(",No Prevent referral needed; follow-up lesson on online radicalisation.,dsl2,Closed,", dslCsv);

        // 5. The auditor reads it, pseudonymised, with no forms; every change POST is refused (403) and nothing changes.
        var store = new IncidentStore(new ConsoleDatabase(Path.Combine(data, "console.db")), TimeProvider.System);
        var before = Snapshot(await store.GetAsync(id));
        await using var auditor = await browsers.NewAsync();
        await auditor.SignInAsync(service.AdminUrl, "audrey", AdminAccounts.Password);
        var response = await auditor.Page.GotoAsync($"{service.AdminUrl}/incidents/{id}");
        Assert.Equal(200, response!.Status);
        Assert.Equal("Closed", (await auditor.Page.Locator("#state").InnerTextAsync()).Trim());
        Assert.Equal(0, await auditor.Page.Locator("section.forms").CountAsync());
        var html = await auditor.Page.ContentAsync();
        Assert.DoesNotContain("Pat Pupil", html);
        Assert.DoesNotContain("pupil1", html);
        Assert.Matches("^pupil-[0-9a-f]{8}$", (await auditor.Page.Locator("#who").InnerTextAsync()).Trim());
        foreach (var handler in new[] { "Acknowledge", "Assign", "Action", "Outcome", "Close" })
        {
            Assert.Equal(403, await PostAsync(auditor, $"/incidents/{id}?handler={handler}", ("assignee", "audrey"), ("text", "auditor was here")));
        }
        await auditor.ScreenshotAsync("incident-auditor.png");
        Assert.Equal(before, Snapshot(await store.GetAsync(id)));

        // 6. The ICT manager (a staff-level admin without dsl) sees the pseudonym in the inbox and on the page, never the name.
        await using var ict = await browsers.NewAsync();
        await ict.SignInAsync(service.AdminUrl, "ict1", AdminAccounts.Password);
        await ict.Page.GotoAsync(service.AdminUrl + "/incidents");
        var inbox = await ict.Page.ContentAsync();
        var pseudonym = (await ict.Page.Locator($"tr[data-incident='{id}'] .who").InnerTextAsync()).Trim();
        Assert.Matches("^pupil-[0-9a-f]{8}$", pseudonym);
        await ict.ScreenshotAsync("incidents-inbox-ict-manager.png");
        await ict.Page.GotoAsync($"{service.AdminUrl}/incidents/{id}");
        var page = await ict.Page.ContentAsync();
        Assert.Equal(pseudonym, (await ict.Page.Locator("#who").InnerTextAsync()).Trim());
        Assert.Equal(pseudonym, (await ict.Page.Locator("#account").InnerTextAsync()).Trim());
        foreach (var text in new[] { inbox, page })
        {
            Assert.DoesNotContain("Pat Pupil", text);
            Assert.DoesNotContain("pupil1", text);
        }
        Assert.Equal(403, await PostAsync(ict, $"/incidents/{id}?handler=Outcome", ("text", "ict was here")));
        var ictCsv = await GetTextAsync(ict, "/incidents/export");
        Assert.Contains($",{pseudonym},{pseudonym},pupil,terrorism,", ictCsv);
        Assert.DoesNotContain("Pat Pupil", ictCsv);
        Assert.DoesNotContain("pupil1", ictCsv);
        await ict.ScreenshotAsync("incident-ict-manager.png");
        Assert.Equal(before, Snapshot(await store.GetAsync(id)));
        Assert.True(seenAfter < Bound);
    }

    private static string Snapshot(IncidentDetails? details) => System.Text.Json.JsonSerializer.Serialize(details);

    /// <summary>A GET from the signed-in page (its cookies): the body as text.</summary>
    private static async Task<string> GetTextAsync(ConsoleBrowser browser, string path) =>
        await browser.Page.EvaluateAsync<string>("async path => { const r = await fetch(path); if (!r.ok) throw new Error('HTTP ' + r.status); return await r.text(); }", path);

    /// <summary>A form POST from the signed-in page (its cookies, the layout's antiforgery token); the response status.</summary>
    private static async Task<int> PostAsync(ConsoleBrowser browser, string path, params (string Name, string Value)[] fields) =>
        await browser.Page.EvaluateAsync<int>("""
            async ([path, fields]) => {
                const body = new FormData();
                body.append('__RequestVerificationToken', document.querySelector('input[name=__RequestVerificationToken]').value);
                for (const [k, v] of fields) body.append(k, v);
                const r = await fetch(path, { method: 'POST', body, redirect: 'manual' });
                return r.status;
            }
            """, new object[] { path, fields.Select(f => new[] { f.Name, f.Value }).ToArray() });
}
