using System.Diagnostics.CodeAnalysis;

// The proxy wing still measures and enforces its deadlines with Stopwatch, Environment.TickCount64, a
// System.Threading.Timer and DateTime.UtcNow (src/BannedSymbols.txt bans them in src/). Issue 16 moves them to the
// injected TimeProvider with the proxy's rebuild; until then these types, and only these, are exempt. Delete a line
// when its type no longer needs it (the build then proves it).
[assembly: SuppressMessage("ApiDesign", "RS0030:Do not use banned APIs", Scope = "type", Target = "~T:FilterService.Proxy.ForwardingStage",
    Justification = "issue 16: proxy-wing deadlines to move to TimeProvider")]
[assembly: SuppressMessage("ApiDesign", "RS0030:Do not use banned APIs", Scope = "type", Target = "~T:FilterService.Proxy.PlainHttpStage",
    Justification = "issue 16: proxy-wing deadlines to move to TimeProvider")]
[assembly: SuppressMessage("ApiDesign", "RS0030:Do not use banned APIs", Scope = "type", Target = "~T:FilterService.Proxy.HttpDate",
    Justification = "issue 16: proxy-wing deadlines to move to TimeProvider")]
[assembly: SuppressMessage("ApiDesign", "RS0030:Do not use banned APIs", Scope = "type", Target = "~T:FilterService.Proxy.ProxyServices",
    Justification = "issue 16: proxy-wing deadlines to move to TimeProvider")]
[assembly: SuppressMessage("ApiDesign", "RS0030:Do not use banned APIs", Scope = "type", Target = "~T:FilterService.Proxy.UpstreamPool",
    Justification = "issue 16: proxy-wing deadlines to move to TimeProvider")]
