using System.Collections.Concurrent;
using System.Net;

namespace FilterService.Identity;

/// <summary>Caps concurrent connections per client address (<c>Proxy:MaxConnectionsPerClient</c>). Thread-safe.</summary>
internal sealed class ClientGate
{
    private readonly ConcurrentDictionary<IPAddress, StrongBox> _counts = new();
    private readonly int _limit;

    private sealed class StrongBox
    {
        public int Value;
    }

    public ClientGate(int limit) => _limit = limit;

    /// <summary>Takes a slot; false if the address already holds the limit. Every true must be paired with <see cref="Release"/>.</summary>
    public bool TryEnter(IPAddress client)
    {
        while (true)
        {
            var box = _counts.GetOrAdd(client, static _ => new StrongBox());
            lock (box)
            {
                if (box.Value < 0)
                {
                    continue; // removed concurrently; take a fresh box
                }
                if (box.Value >= _limit)
                {
                    return false;
                }
                box.Value++;
                return true;
            }
        }
    }

    public void Release(IPAddress client)
    {
        if (_counts.TryGetValue(client, out var box))
        {
            lock (box)
            {
                if (--box.Value == 0)
                {
                    box.Value = -1;
                    _counts.TryRemove(new KeyValuePair<IPAddress, StrongBox>(client, box));
                }
            }
        }
    }
}
