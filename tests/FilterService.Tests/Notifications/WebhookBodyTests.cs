using System.Text.Json;
using FilterService.Notifications;
using PolicyModel.Decisions;

namespace FilterService.Tests.Notifications;

public sealed class WebhookBodyTests
{
    private static readonly Incident Incident = new()
    {
        Id = "0123abcd",
        Kind = IncidentKind.Alert,
        At = new DateTimeOffset(2025, 3, 10, 9, 15, 0, TimeSpan.Zero),
        User = "pupil1",
        DisplayName = "Pat \"P\" Pupil",
        Roles = ["pupil"],
        Client = "10.40.0.7",
        Network = "pupil-lan",
        Method = "CONNECT",
        Target = "blocked-terror.test:443",
        Host = "blocked-terror.test",
        Category = "terrorism",
        Rule = "statutory:terrorism",
        Severity = AlertSeverity.High,
    };

    [Fact]
    public void Body_Template_PlaceholdersAreFilledJsonEscaped_UnknownOnesLeftAlone()
    {
        var message = AlertMessage.For(Incident, new AlertOptions(), TimeZoneInfo.FindSystemTimeZoneById("Europe/London"));
        var body = WebhookChannel.Body(message, """{"text": "{{ severity }}: {{displayName}} ({{user}}) tried {{target}} [{{category}}] {{nope}}", "id": "{{id}}"}""");
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("High: Pat \"P\" Pupil (pupil1) tried blocked-terror.test:443 [terrorism] {{nope}}", json.GetProperty("text").GetString());
        Assert.Equal("0123abcd", json.GetProperty("id").GetString());
    }

    [Fact]
    public void Body_Default_CarriesEveryField()
    {
        var message = AlertMessage.For(Incident, new AlertOptions(), TimeZoneInfo.FindSystemTimeZoneById("Europe/London"));
        var i = JsonDocument.Parse(WebhookChannel.Body(message, null)).RootElement.GetProperty("incidents")[0];
        Assert.Equal("pupil-lan", i.GetProperty("network").GetString());
        Assert.Equal("10.40.0.7", i.GetProperty("client").GetString());
        Assert.Equal("pupil", i.GetProperty("roles")[0].GetString());
        Assert.Equal("2025-03-10T09:15:00+00:00", i.GetProperty("time").GetString());
        Assert.Contains("Time:             2025-03-10 09:15:00 +00:00 (Europe/London)", message.Text);
    }
}
