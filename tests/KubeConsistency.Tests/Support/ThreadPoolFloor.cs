using System.Runtime.CompilerServices;

namespace KubeConsistency.Tests;

/// <summary>
/// Gives the test run enough thread-pool workers that blocking FsCheck properties cannot starve each other.
/// </summary>
/// <remarks>
/// FsCheck properties are synchronous, so a property that drives async code blocks its thread while the code it waits
/// on needs a pool thread of its own. xunit runs up to four collections at once on a two-core machine, whose pool starts
/// with two workers and adds more only slowly: four blocking properties could then wait seconds for a continuation
/// (seen once as a 10 s guard timeout in ConsumerWakeBatchingTests; with the pool capped at two workers the same tests
/// hung in both of two runs). The floor removes that dependence on the pool's injection rate; it changes no product code.
/// </remarks>
internal static class ThreadPoolFloor
{
    private const int MinimumWorkers = 32;

    [ModuleInitializer]
    internal static void Raise()
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (workers < MinimumWorkers)
        {
            ThreadPool.SetMinThreads(MinimumWorkers, completionPorts);
        }
    }
}
