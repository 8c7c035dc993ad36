using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FilterService.Tests.TestSupport;

namespace FilterService.Tests.Telemetry;

/// <summary>A real Prometheus on 127.0.0.1 scrapes the running service; PromQL over its HTTP API sees the blocks.</summary>
public sealed class PrometheusScrapeTests
{
    private const int Blocks = 3;

    [Fact]
    public async Task RealPrometheus_ScrapingTheService_CountsSocialBlocks()
    {
        if (!File.Exists(Promtool.PrometheusPath))
        {
            throw new Xunit.Sdk.XunitException("prometheus is not installed: run .ci/install-deps (apt-get install prometheus)");
        }
        var policyDir = Samples.CopyDefault();
        await using var origin = await TestOrigin.StartAsync();
        await using var service = await RunningService.StartAsync(policyDir, origin);
        var proxy = service.ProxyUri.ToString();
        for (int i = 0; i < Blocks; i++)
        {
            var r = await Curl.RunAsync("--proxy", proxy, "--proxy-user", "pupil1:pupil1-demo", "http://www.facebook.com/");
            Assert.Equal(403, r.HttpCode);
            Assert.Contains("This page is blocked", r.Body);
        }
        // An allowed request as well, so the query must pick the blocks out.
        Assert.Equal(200, (await Curl.RunAsync("--proxy", proxy, "--proxy-user", "staff1:staff1-demo", "http://allowed.test/hello")).HttpCode);

        var dir = TempDir.Create("prometheus");
        int port = FreePort();
        var config = Path.Combine(dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: filterservice
                static_configs:
                  - targets: ["127.0.0.1:{service.AdminPort}"]
            """);
        var psi = new ProcessStartInfo(Promtool.PrometheusPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        foreach (var a in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(a);
        }
        using var prometheus = Process.Start(psi)!;
        var log = new System.Text.StringBuilder();
        prometheus.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        prometheus.BeginOutputReadLine();
        prometheus.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var query = Uri.EscapeDataString("sum(filterservice_requests_total{action=\"block\",category=\"social\"})");
            var deadline = Stopwatch.StartNew();
            string last = "(no answer)";
            while (true)
            {
                Assert.False(prometheus.HasExited, "prometheus exited:\n" + log);
                try
                {
                    var json = await http.GetStringAsync($"http://127.0.0.1:{port}/api/v1/query?query={query}");
                    last = json;
                    using var doc = JsonDocument.Parse(json);
                    var result = doc.RootElement.GetProperty("data").GetProperty("result");
                    if (result.GetArrayLength() == 1
                        && double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) == Blocks)
                    {
                        break;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    last = ex.Message; // not listening yet
                }
                if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new Xunit.Sdk.XunitException($"Prometheus did not report {Blocks} social blocks within 30 s; last answer: {last}\n{log}");
                }
                await Task.Delay(250);
            }
            // Prometheus saw the target healthy.
            var up = await http.GetStringAsync($"http://127.0.0.1:{port}/api/v1/query?query={Uri.EscapeDataString("up{job=\"filterservice\"}")}");
            Assert.Contains("\"1\"", up);
        }
        finally
        {
            await prometheus.StopAsync();
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
