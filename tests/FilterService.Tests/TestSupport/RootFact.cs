using System.Runtime.InteropServices;

namespace FilterService.Tests.TestSupport;

/// <summary>A fact that needs root (dpkg -i, another user's uid): skipped, saying so, when the tests run as anyone else.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute(string why)
    {
        if (Geteuid() != 0)
        {
            Skip = $"needs root ({why}); the tests run as uid {Geteuid()}";
        }
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint Geteuid();
}
