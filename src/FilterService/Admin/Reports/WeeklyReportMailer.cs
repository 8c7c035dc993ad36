using FilterService.Notifications;

namespace FilterService.Admin.Reports;

/// <summary>
/// Emails a weekly report through the alert SMTP settings and MailKit (<see cref="EmailChannel.DeliverAsync"/>: the same
/// server, security, pinning and sign-in as alerts): HTML with each chart as an inline PNG part
/// (<c>multipart/related</c>, referred to as <c>cid:NAME@report.filterservice</c>) and a plain-text alternative.
/// The Message-ID is derived from the week, so a receiving system can drop a second copy.
/// </summary>
internal sealed class WeeklyReportMailer(AlertOptions alerts, WeeklySettings settings, TimeProvider time)
{
    public static string ContentId(ChartImage chart) => chart.Name + "@report.filterservice";

    public IReadOnlyList<string> Recipients => settings.RecipientList;

    public MimeKit.MimeMessage Create(WeeklyReport report)
    {
        var charts = ReportCharts.For(report.Figures);
        var body = new MimeKit.BodyBuilder
        {
            HtmlBody = WeeklyReportHtml.Render(report, charts, c => "cid:" + ContentId(c)),
            TextBody = Text(report),
        };
        foreach (var chart in charts)
        {
            var part = body.LinkedResources.Add(chart.Name + ".png", chart.Png, new MimeKit.ContentType("image", "png"));
            part.ContentId = ContentId(chart);
        }
        var mail = new MimeKit.MimeMessage
        {
            Subject = $"{alerts.Email.SubjectPrefix} Weekly filtering report {report.Week}: {report.School}".Trim(),
            MessageId = $"weekly-{report.Week}-{report.PolicyVersion}@reports.filterservice",
            Body = body.ToMessageBody(),
        };
        mail.From.Add(MimeKit.MailboxAddress.Parse(alerts.Email.From!));
        foreach (var to in settings.RecipientList)
        {
            mail.To.Add(MimeKit.MailboxAddress.Parse(to));
        }
        mail.Headers.Add("X-FilterService-Report", "weekly " + report.Week);
        return mail;
    }

    public async Task SendAsync(WeeklyReport report, CancellationToken cancellationToken)
    {
        if (settings.RecipientList.Count == 0)
        {
            throw new InvalidOperationException("Reports:Weekly:Recipients is empty: nobody to send the weekly report to");
        }
        using var channel = new EmailChannel(alerts, time);
        using var deadline = new CancellationTokenSource(alerts.Timeout * 4, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        await channel.DeliverAsync(Create(report), timeout.Token);
    }

    private static string Text(WeeklyReport r)
    {
        var f = r.Figures;
        return string.Create(ReportHtml.Culture, $"""
            Weekly filtering report {r.Week} for {r.School}.
            Requests decided: {f.Requests}. Blocked attempts: {f.Blocked}. Statutory list hits: {f.StatutoryHits.Sum(s => s.Value)}.
            Alerts raised: {f.AlertsBySeverity.Sum(s => s.Value)}. Downtime: {(r.Availability is { Monitored: true } a ? ReportHtml.Duration(a.TotalDown) + (a.Down.Count == 0 ? " (none)" : "") : "not known")}.
            The full report, with charts, is the HTML part of this message.
            """);
    }
}
