using System.Collections.Concurrent;
using System.Diagnostics;
using PolicyModel.Documents;
using PolicyModel.Tests.Samples;

namespace PolicyModel.Tests.Fuzz;

/// <summary>
/// Loads mutated copies of every sample in deploy/samples and records anything that is not a clean outcome: an
/// exception, a rejection without an error, a diagnostic without a file, or a load that takes too long. Policy
/// number <c>i</c> of a run with seed <c>s</c> is made by <c>new PolicyMutator(s + i)</c> from sample
/// <c>(s + i) mod samples</c>, so any finding can be replayed alone with <c>FUZZ_SEED=s+i FUZZ_POLICIES=1</c>.
/// </summary>
internal static class PolicyFuzz
{
    /// <summary>In a long run, a single load slower than this is a finding (a quadratic path).</summary>
    public static readonly TimeSpan SlowLoad = TimeSpan.FromSeconds(10);

    /// <summary>A load with no result after this is a finding in every run (a hang).</summary>
    public static readonly TimeSpan HungLoad = TimeSpan.FromSeconds(60);

    public sealed record Finding(int Seed, string Sample, IReadOnlyList<string> Mutations, string Problem)
    {
        public override string ToString() =>
            $"seed {Seed} ({Sample}; {string.Join("; ", Mutations)}):\n  {Problem.Replace("\n", "\n  ")}";
    }

    public sealed record Outcome(int Policies, int Rejected, TimeSpan Elapsed, TimeSpan Slowest, IReadOnlyList<Finding> Findings);

    public static string[] Samples() =>
        Directory.GetDirectories(Path.Combine(SampleFiles.RepoRoot, "deploy", "samples"))
            .Where(d => File.Exists(Path.Combine(d, PolicyLoader.FileName)))
            .Select(Path.GetFileName)
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToArray()!;

    /// <summary>
    /// Runs policies <paramref name="firstSeed"/>.. until <paramref name="policies"/> are done or <paramref name="budget"/> is
    /// spent, but never fewer than <paramref name="atLeast"/>, so a busy machine makes the run longer, not weaker.
    /// <paramref name="flagSlow"/> makes a load slower than <see cref="SlowLoad"/> a finding: wall time on a shared machine
    /// says little, so only the long runs use it (a hang is always one).
    /// </summary>
    public static Outcome Run(int firstSeed, int policies, int atLeast, TimeSpan budget, int workers, bool flagSlow)
    {
        var samples = Samples();
        var progress = Environment.GetEnvironmentVariable("FUZZ_PROGRESS");
        var findings = new ConcurrentBag<Finding>();
        var clock = Stopwatch.StartNew();
        var next = -1;
        var done = 0;
        var rejected = 0;
        var slowestTicks = 0L;
        var root = Path.Combine(Path.GetTempPath(), "policy-fuzz-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var threads = Enumerable.Range(0, workers).Select(w => new Thread(() =>
            {
                var work = Path.Combine(root, w.ToString());
                while ((clock.Elapsed < budget || Volatile.Read(ref next) + 1 < atLeast) && findings.Count < 20)
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= policies)
                    {
                        return;
                    }

                    var seed = unchecked(firstSeed + i);
                    var sample = samples[(int)((uint)seed % (uint)samples.Length)];
                    Finding? finding;
                    bool wasRejected;
                    TimeSpan took;
                    try
                    {
                        (finding, wasRejected, took) = One(seed, sample, work, flagSlow);
                    }
                    catch (Exception e)
                    {
                        (finding, wasRejected, took) = (new Finding(seed, sample, [], "harness: " + e), false, TimeSpan.Zero);
                    }

                    if (finding is not null)
                    {
                        findings.Add(finding);
                        if (finding.Problem.StartsWith("hung", StringComparison.Ordinal))
                        {
                            return;
                        }
                    }

                    if (Interlocked.Increment(ref done) % 5000 == 0 && progress is not null)
                    {
                        lock (progress)
                        {
                            File.AppendAllText(progress, $"{done:N0} policies, {clock.Elapsed.TotalSeconds:F0} s, {findings.Count} findings\n");
                        }
                    }
                    if (wasRejected)
                    {
                        Interlocked.Increment(ref rejected);
                    }

                    for (var seen = Volatile.Read(ref slowestTicks); took.Ticks > seen; seen = Volatile.Read(ref slowestTicks))
                    {
                        Interlocked.CompareExchange(ref slowestTicks, took.Ticks, seen);
                    }
                }
            }) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }
        finally
        {
            TryDelete(root);
        }

        return new Outcome(done, rejected, clock.Elapsed, TimeSpan.FromTicks(slowestTicks), findings.OrderBy(f => f.Seed).ToList());
    }

    /// <summary>One mutated policy: copy the sample, mutate it, load it, judge the result.</summary>
    public static (Finding? Finding, bool Rejected, TimeSpan Took) One(int seed, string sample, string work, bool flagSlow)
    {
        TryDelete(work);
        var source = Path.Combine(SampleFiles.RepoRoot, "deploy", "samples", sample);
        var files = new List<string>();
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(work, relative))!);
            File.Copy(file, Path.Combine(work, relative));
            if (!relative.EndsWith(".md", StringComparison.Ordinal) && relative != PolicyLoader.FileName)
            {
                files.Add(relative);
            }
        }

        files.Sort(StringComparer.Ordinal);
        var mutator = new PolicyMutator(seed);
        mutator.Mutate(work, files);
        Finding Found(string problem) => new(seed, sample, mutator.Log.ToList(), problem);

        var started = Stopwatch.GetTimestamp();
        var load = Task.Factory.StartNew(() => PolicyLoader.Load(work, SampleFiles.Clock), TaskCreationOptions.LongRunning);
        if (!((IAsyncResult)load).AsyncWaitHandle.WaitOne(HungLoad))
        {
            return (Found($"hung: no result after {HungLoad}"), false, Stopwatch.GetElapsedTime(started));
        }

        var took = Stopwatch.GetElapsedTime(started);
        if (load.IsFaulted)
        {
            return (Found(load.Exception!.InnerException!.ToString()), false, took);
        }

        var result = load.Result;
        if (flagSlow && took > SlowLoad)
        {
            return (Found($"slow: {took.TotalSeconds:F1} s"), !result.Succeeded, took);
        }

        if (!result.Succeeded && !result.Errors.Any())
        {
            return (Found("rejected without an error"), true, took);
        }

        foreach (var d in result.Diagnostics)
        {
            if (string.IsNullOrEmpty(d.Location.File) || d.Location.Line < 0 || d.Location.Column < 0 || string.IsNullOrWhiteSpace(d.Message))
            {
                return (Found($"unlocated diagnostic: {d}"), !result.Succeeded, took);
            }
        }

        return (null, !result.Succeeded, took);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
