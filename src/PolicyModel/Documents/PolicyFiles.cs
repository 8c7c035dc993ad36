namespace PolicyModel.Documents;

/// <summary>Reading the files a policy names, with a located diagnostic instead of an exception when one cannot be read.</summary>
internal static class PolicyFiles
{
    /// <summary>
    /// The text of <paramref name="file"/> (relative to <paramref name="policyDirectory"/>), or null after reporting
    /// <c>cannot read WHAT 'file': ...</c> at <paramref name="at"/>, where the policy names the file.
    /// </summary>
    public static string? ReadText(string policyDirectory, string file, SourceLocation at, string code, string what, DiagnosticBag diagnostics)
    {
        try
        {
            return File.ReadAllText(Path.Combine(policyDirectory, file));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            diagnostics.Error(at, code, $"cannot read {what} '{file}': file not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics.Error(at, code, $"cannot read {what} '{file}': {e.Message}");
        }

        return null;
    }
}
