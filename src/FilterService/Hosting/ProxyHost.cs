namespace FilterService.Hosting;

/// <summary>Placeholder until the proxy host lands: the service itself is built in Hosting/ and Proxy/.</summary>
internal static class ProxyHost
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("The proxy service is not built yet; use 'check' or 'explain'.");
        return Task.FromResult(2);
    }
}
