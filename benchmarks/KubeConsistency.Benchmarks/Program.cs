using BenchmarkDotNet.Running;
using KubeConsistency.Benchmarks.Sync;

// Whole-process informer measurements (sync, watch-throughput and their serve/client/phases children) have their
// own harness; anything else goes to BenchmarkDotNet (e.g. --filter '*').
if (SyncHarness.Handles(args))
{
    return await SyncHarness.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
