using System.Collections.Immutable;
using NodaTime;
using NodaTime.Text;
using PolicyModel.Decisions;
using PolicyModel.Diagnostics;
using PolicyModel.Files;
using YamlDotNet.RepresentationModel;

namespace PolicyModel.Documents;

/// <summary>
/// The <c>exceptions</c> section: named, dated and attributable permissions (who, what, from, until, granted by, why).
/// An exception that has expired is a warning; one that allows a statutory category or host is an error.
/// </summary>
internal static class ExceptionCompiler
{
    private static readonly string[] Keys =
        ["name", "user", "users", "role", "roles", "allow", "hosts", "from", "until", "during", "granted_by", "reason"];

    /// <summary>Date-times as people write them: to the minute or to the second (fractions allowed), in school local time.</summary>
    private static readonly LocalDateTimePattern[] LocalMoments =
    [
        LocalDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mm"),
        LocalDateTimePattern.ExtendedIso,
    ];

    /// <summary>The same with an explicit offset (<c>Z</c>, <c>+01:00</c>).</summary>
    private static readonly OffsetDateTimePattern[] OffsetMoments =
    [
        OffsetDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mmo<G>"),
        OffsetDateTimePattern.ExtendedIso,
    ];

    public static ImmutableArray<CompiledException> Compile(CompileContext cx, YamlNode? node)
    {
        var result = ImmutableArray.CreateBuilder<CompiledException>();
        if (node is null)
        {
            return result.ToImmutable();
        }

        if (node is not YamlSequenceNode seq)
        {
            cx.Src.Error(node, Messages.ExceptionsNotAList);
            return result.ToImmutable();
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in seq.Children)
        {
            var e = cx.Src.Entries(item, "an exception", Keys);
            var nameNode = YamlSource.Get(e, "name");
            var name = cx.Src.Scalar(nameNode, "name");
            if (name is null)
            {
                cx.Src.Error(item, Messages.ExceptionNeedsName);
                continue;
            }

            if (!names.Add(name))
            {
                cx.Src.Error(nameNode!, Messages.DuplicateException, name);
            }

            var users = cx.UserSet(YamlSource.Get(e, "user") ?? YamlSource.Get(e, "users"), "user");
            var roleMask = cx.RoleMask(YamlSource.Get(e, "role") ?? YamlSource.Get(e, "roles"), "role");
            if (users is null && roleMask == 0)
            {
                cx.Src.Error(item, Messages.ExceptionNeedsUserOrRole, name);
            }

            var allow = cx.Src.ScalarList(YamlSource.Get(e, "allow"), "allow");
            var categoryMask = cx.CategoryMask(allow);
            if ((categoryMask & cx.StatutoryMask) != 0)
            {
                cx.Src.Error(YamlSource.Get(e, "allow")!, Messages.ExceptionAllowsStatutory, name, cx.StatutoryName(categoryMask));
            }

            var hosts = cx.Hosts(YamlSource.Get(e, "hosts"), $"exception '{name}'");
            if (allow.Count == 0 && hosts.IsEmpty)
            {
                cx.Src.Error(item, Messages.ExceptionNeedsAllowOrHosts, name);
            }

            var grantedBy = cx.Src.Scalar(YamlSource.Get(e, "granted_by"), "granted_by");
            var reason = cx.Src.Scalar(YamlSource.Get(e, "reason"), "reason");
            var untilNode = YamlSource.Get(e, "until");
            if (grantedBy is null || reason is null || untilNode is null)
            {
                var missing = new[] { ("granted_by", grantedBy), ("reason", reason), ("until", cx.Src.Scalar(untilNode, "until")) }
                    .Where(p => p.Item2 is null).Select(p => p.Item1);
                cx.Src.Error(item, Messages.ExceptionNotAttributable, name, string.Join(", ", missing));
            }

            var from = ReadMoment(cx, YamlSource.Get(e, "from"), endOfDay: false);
            var until = ReadMoment(cx, untilNode, endOfDay: true);
            if (from is not null && until is not null && until <= from)
            {
                cx.Src.Error(untilNode!, Messages.ExceptionEndsBeforeStart, name);
            }

            if (until is { } u && u <= Instant.FromDateTimeOffset(cx.Now))
            {
                cx.Src.Warning(untilNode!, Messages.ExceptionExpired, name, u.InZone(cx.Zone));
            }

            var untilText = until?.InZone(cx.Zone).ToString("yyyy-MM-dd HH:mm", null);
            result.Add(new CompiledException
            {
                Name = name,
                Reason = $"Allowed by exception '{name}', granted by {grantedBy} until {untilText}: {reason?.TrimEnd('.')}.",
                Users = users,
                RoleMask = roleMask,
                CategoryMask = categoryMask,
                Hosts = hosts,
                From = from,
                Until = until ?? Instant.MinValue,
                During = cx.ScheduleRef(YamlSource.Get(e, "during"), "during"),
            });
        }

        return result.ToImmutable();
    }

    /// <summary>
    /// A date (<c>2026-12-18</c>: from its start, or when <paramref name="endOfDay"/>, until midnight after it, so
    /// the named day is included) or an ISO date-time to the minute or second (<c>2026-12-18T16:00</c>,
    /// <c>2026-12-18T16:00:30</c>), in school local time (the policy's zone) unless it carries an offset.
    /// </summary>
    private static Instant? ReadMoment(CompileContext cx, YamlNode? node, bool endOfDay)
    {
        if (node is null || cx.Src.Scalar(node, "a date") is not { } text)
        {
            return null;
        }

        if (LocalDatePattern.Iso.Parse(text) is { Success: true } date)
        {
            var day = endOfDay ? date.Value.PlusDays(1) : date.Value;
            return cx.Zone.AtStartOfDay(day).ToInstant();
        }

        foreach (var pattern in OffsetMoments)
        {
            if (pattern.Parse(text) is { Success: true } offset)
            {
                return offset.Value.ToInstant();
            }
        }

        foreach (var pattern in LocalMoments)
        {
            if (pattern.Parse(text) is { Success: true } local)
            {
                return cx.Zone.ResolveLocal(local.Value, NodaTime.TimeZones.Resolvers.LenientResolver).ToInstant();
            }
        }

        cx.Src.Error(node, Messages.NotADateOrDateTime, text);
        return null;
    }
}
