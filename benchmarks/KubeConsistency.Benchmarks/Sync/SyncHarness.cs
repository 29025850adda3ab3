namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// Entry point of the whole-process informer benchmarks.
/// <list type="bullet">
/// <item><c>sync --objects 10000,100000 --path list|watchlist|both [--repeat 3] [--model typed|node|both] [--variants default,dedup (the default),nospin+dedup,…] [--dedup-strings]</c></item>
/// <item><c>watch-throughput --events 200000 [--pods 1000] [--pacing drain|paced] [--warmup-events 20000] [--rate 0] [--repeat 3]</c>: drain (default) releases a held backlog, measuring the client; paced delivers events as the server generates them.</item>
/// <item><c>phases --url URL</c>: a one-process breakdown of the LIST and watch-list client path (HTTP, decode, FIFO, store).</item>
/// <item><c>ryw-latency</c>: read-your-writes Get wait after an own create at several watch lags, and the timeout path.</item>
/// <item><c>alloc-report --trace FILE</c>: allocation by type and caller, GC counts and pauses, from an <c>alloctrace</c> run.</item>
/// <item><c>serve</c> and <c>client</c>: the child processes the orchestrator starts.</item>
/// </list>
/// </summary>
internal static class SyncHarness
{
    private static readonly HashSet<string> Commands = new(StringComparer.Ordinal) { "sync", "watch-throughput", "serve", "client", "phases", "ryw-latency", "alloc-report" };

    public static bool Handles(string[] args) => args.Length > 0 && Commands.Contains(args[0]);

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Args(args.Skip(1));
        try
        {
            return args[0] switch
            {
                "sync" => await Orchestrator.SyncAsync(options),
                "watch-throughput" => await Orchestrator.WatchThroughputAsync(options),
                "serve" => await ServeMode.RunAsync(options),
                "client" => await ClientMode.RunAsync(options),
                "phases" => await PhasesMode.RunAsync(options),
                "ryw-latency" => await RywLatencyMode.RunAsync(options),
                "alloc-report" => AllocationReportMode.Run(options),
                _ => 1,
            };
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            Console.WriteLine("@ERROR " + ex.Message.ReplaceLineEndings(" "));
            return 1;
        }
    }
}
