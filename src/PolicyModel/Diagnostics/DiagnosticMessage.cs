using System.Globalization;

namespace PolicyModel.Diagnostics;

/// <summary>
/// One entry of the <see cref="Messages"/> table: a code and the text of its one problem, a composite format string
/// (<c>unknown role '{0}'{1}</c>) filled with invariant culture. Immutable; equality is by value.
/// </summary>
public sealed record DiagnosticMessage(string Code, string Template)
{
    /// <summary>The message with <paramref name="args"/> in its holes (literal braces are doubled in the template).</summary>
    public string Format(params object?[] args) => string.Format(CultureInfo.InvariantCulture, Template, args);
}

/// <summary>
/// A table message with its arguments, not yet placed: what a parser (a day list, a time range) returns so that its
/// caller reports it where the text came from.
/// </summary>
public readonly record struct Problem(DiagnosticMessage Message, object?[] Args);
