using BenchmarkDotNet.Running;
using FilterService.Benchmarks;

// `build-stats [out.md]` prints build time and memory; anything else goes to BenchmarkDotNet, e.g.
// `--filter '*DomainMatcherBenchmarks*' --job short --artifacts DIR`.
if (args.Length > 0 && args[0] == "build-stats")
    return BuildStats.Run(args);
if (args.Length > 0 && args[0] == "quick")
    return QuickCompare.Run(args);
if (args.Length > 0 && args[0] == "decisions")
    return DecisionsBench.Run(args);
if (args.Length > 0 && args[0] == "index-cpu")
    return IndexCpuBench.Run(args);

// Resolve the data folder here, where the repository is known, so that BenchmarkDotNet's child processes
// (which run from generated projects) inherit it.
Environment.SetEnvironmentVariable("BENCH_DATA", BenchData.Directory());
BenchmarkSwitcher.FromAssembly(typeof(DomainMatcherBenchmarks).Assembly).Run(args);
return 0;
