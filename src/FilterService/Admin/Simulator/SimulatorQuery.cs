using System.Net;
using NodaTime;
using NodaTime.Text;
using PolicyModel.Decisions;

namespace FilterService.Admin.Simulator;

/// <summary>
/// The simulator's form as typed (every field optional text): the person (<see cref="User"/>, or <see cref="Role"/> for an
/// unnamed member of a role), where from (<see cref="Where"/>: an IP address or a network's name), when (<see cref="At"/>,
/// ISO 8601 as <c>explain --at</c>; <see cref="Week"/>, a date in the week to draw), what (<see cref="Url"/>,
/// <see cref="Method"/>). Nothing here lists users: the user field is whatever the admin typed.
/// </summary>
internal sealed record SimulatorForm(string? User, string? Role, string? Where, string? At, string? Url, string? Method, string? Week = null)
{
    /// <summary>Whether the form was sent at all (a first visit shows it empty, without complaints).</summary>
    public bool Asked => !string.IsNullOrWhiteSpace(Url) || !string.IsNullOrWhiteSpace(Where);
}

/// <summary>A problem with one field of the form, shown next to it.</summary>
internal sealed record FormProblem(string Field, string Message);

/// <summary>A valid form: the request to decide (its <c>At</c> the time asked, or now), the policy to decide it on, and the week's day.</summary>
internal sealed record SimulatorQuery(PolicySnapshot Snapshot, FilterRequest Request, LocalDate Day)
{
    private const int MaxField = 2048;

    /// <summary>
    /// Parses <paramref name="form"/> against the live policy <paramref name="live"/>; every problem found, not just the
    /// first, goes to <paramref name="problems"/> and the answer is null. A role without a user becomes a persona
    /// (<see cref="PolicySnapshot.WithPersona"/>, named <c>(role NAME)</c>); a network name becomes an address on it.
    /// </summary>
    public static SimulatorQuery? Parse(PolicySnapshot live, SimulatorForm form, Instant now, List<FormProblem> problems)
    {
        var start = problems.Count;
        var zone = live.TimeZone;
        string? Text(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
        var (user, role, where, at, url, method, week) =
            (Text(form.User), Text(form.Role), Text(form.Where), Text(form.At), Text(form.Url), Text(form.Method), Text(form.Week));
        foreach (var (field, value) in new[] { ("user", user), ("role", role), ("where", where), ("at", at), ("url", url), ("method", method), ("week", week) })
        {
            if (value?.Length > MaxField)
            {
                problems.Add(new FormProblem(field, $"longer than {MaxField} characters"));
            }
        }
        if (problems.Count > start)
        {
            return null;
        }

        var snapshot = live;
        if (user is not null && role is not null)
        {
            problems.Add(new FormProblem("role", "give a user or a role, not both"));
        }
        else if (user is not null && live.FindUser(user) is null && live.Ldap is null)
        {
            problems.Add(new FormProblem("user", $"'{user}' is not in the policy's user directory"));
        }
        else if (role is not null)
        {
            user = "(role " + role + ")";
            if (live.WithPersona(user, role) is { } persona)
            {
                snapshot = persona;
            }
            else
            {
                problems.Add(new FormProblem("role", $"'{role}' is not one of the policy's roles ({string.Join(", ", live.RoleNames)})"));
            }
        }

        IPAddress? address = null;
        if (where is null)
        {
            problems.Add(new FormProblem("where", "give the client's IP address or one of the networks: " + string.Join(", ", live.NetworkNames)));
        }
        else if (!IPAddress.TryParse(where, out address) && (address = live.AddressOn(where)) is null)
        {
            problems.Add(new FormProblem("where", $"'{where}' is neither an IP address nor one of the networks ({string.Join(", ", live.NetworkNames)})"));
        }

        var instant = now;
        if (at is not null)
        {
            if (Explainer.ParseTime(at, zone) is { } parsed)
            {
                instant = parsed;
            }
            else
            {
                problems.Add(new FormProblem("at", $"'{at}' is not an ISO 8601 date-time (2026-11-23T10:00, 2026-11-23T10:00:00Z)"));
            }
        }

        var day = instant.InZone(zone).Date;
        if (week is not null)
        {
            var result = LocalDatePattern.Iso.Parse(week);
            if (result.Success)
            {
                day = result.Value;
            }
            else
            {
                problems.Add(new FormProblem("week", $"'{week}' is not a date (2026-11-23)"));
            }
        }

        if (method is not null && !method.All(char.IsAsciiLetter))
        {
            problems.Add(new FormProblem("method", $"'{method}' is not an HTTP method (GET, POST, CONNECT ...)"));
        }

        ExplainTarget? target = null;
        if (url is null)
        {
            problems.Add(new FormProblem("url", "give an http(s) URL or host:port"));
        }
        else if ((target = Explainer.ParseTarget(url, method)) is null)
        {
            problems.Add(new FormProblem("url", $"'{url}' is not an http(s) URL or host:port"));
        }

        if (problems.Count > start)
        {
            return null;
        }
        var request = new FilterRequest(address!, user, target!.Method, target.Scheme, target.Host, target.Port, target.PathAndQuery, instant.ToDateTimeOffset());
        return new SimulatorQuery(snapshot, request, day);
    }
}
