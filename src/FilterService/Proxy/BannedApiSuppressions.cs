using System.Diagnostics.CodeAnalysis;

// The proxy wing still measures and enforces its deadlines with Stopwatch, Environment.TickCount64, a
// System.Threading.Timer and DateTime.UtcNow (src/BannedSymbols.txt bans them in src/). Issue 16 moves them to the
// injected TimeProvider with the proxy's rebuild; until then these types, and only these, are exempt. Delete a line
// when its type no longer needs it (the build then proves it).
