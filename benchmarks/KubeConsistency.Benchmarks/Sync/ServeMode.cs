using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using KubeConsistency.Testing;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// <c>serve</c>: an <see cref="EmbeddedApiServer"/> seeded with N pods in this (separate) process. Prints
/// <c>@READY {json}</c> when seeded, then obeys stdin: <c>start COUNT RATE</c> merge-patches a label on the
/// seeded pods round-robin (RATE events/s, 0 = as fast as possible) and prints <c>@GENERATED {json}</c>;
/// <c>hold</c> waits for an open pod watch and then holds back every pod watch event (the watch delay fault,
/// set to a day) and prints <c>@HELD</c>; <c>release</c> clears it, so the watchers get the whole backlog at once,
/// and prints <c>@RELEASED</c>; <c>quit</c> or the end of stdin (the orchestrator died) stops the server.
/// </summary>
internal static class ServeMode
{
    public static async Task<int> RunAsync(Args args)
    {
        var objects = args.Int("objects", 10_000);
        var namespaces = args.Int("namespaces", 100);
        var port = args.Int("port", 0);
        var managedFields = args.Flag("managed-fields");
        args.RejectUnknown();

        var server = await EmbeddedApiServer.StartAsync(new EmbeddedApiServerOptions
        {
            Port = port,
            RecordManagedFields = managedFields,

            // The generator may run far ahead of a slow client: never end its watch for lagging (a real
            // apiserver would; here the point is to measure how fast the client drains the stream).
            WatchBufferSize = 50_000_000,
            WatchHistoryLimit = 100_000,
        });
        await using (server)
        {
            var seeding = Stopwatch.StartNew();
            for (var i = 0; i < namespaces; i++)
            {
                server.Objects.Create(ApiResourceDefinition.Namespaces, new JsonObject { ["metadata"] = new JsonObject { ["name"] = PodGenerator.NamespaceName(i) } });
            }

            var keys = new (string Namespace, string Name)[objects];
            for (var i = 0; i < objects; i++)
            {
                var (ns, name, pod, status) = PodGenerator.Create(i, namespaces);
                server.Objects.Create(ApiResourceDefinition.Pods, pod, "kube-controller-manager");
                server.Objects.Patch(ApiResourceDefinition.Pods, ns, name, status.ToJsonString(), ApiPatchType.Merge, status: true, fieldManager: "kubelet");
                keys[i] = (ns, name);
            }

            seeding.Stop();
            var (itemBytes, listBytes) = await MeasureWireSizeAsync(server.BaseAddress, objects);
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            var ready = new JsonObject
            {
                ["port"] = server.BaseAddress.Port,
                ["url"] = server.BaseAddress.ToString(),
                ["objects"] = objects,
                ["namespaces"] = namespaces,
                ["seedSeconds"] = Math.Round(seeding.Elapsed.TotalSeconds, 2),
                ["avgItemBytes"] = itemBytes,
                ["listBytes"] = listBytes,
                ["resourceVersion"] = server.CurrentResourceVersion,
                ["pid"] = Environment.ProcessId,
            };
            Console.WriteLine("@READY " + ready.ToJsonString());

            Task? generator = null;

            // Sequence numbers continue across "start" commands: a patch never repeats a value (a no-op patch
            // would produce no event, and the client would wait for it forever).
            var sequence = 0;
            while (await Console.In.ReadLineAsync() is { } line)
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0)
                {
                    continue;
                }

                if (parts[0] == "quit")
                {
                    break;
                }

                if (parts[0] == "hold")
                {
                    // Only events committed after this are held; the client's watch must already be open so none
                    // of the backlog is replayed from (bounded) history instead of the live queue.
                    await server.Faults.WaitForOpenWatchesAsync(ApiResourceDefinition.Pods.Group, ApiResourceDefinition.Pods.Plural);
                    server.Faults.SetWatchDelay(ApiResourceDefinition.Pods.Group, ApiResourceDefinition.Pods.Plural, TimeSpan.FromDays(1));
                    Console.WriteLine("@HELD " + server.CurrentResourceVersion);
                }
                else if (parts[0] == "release")
                {
                    if (generator is not null)
                    {
                        await generator;
                    }

                    // The held stream provably has the backlog queued behind its first event.
                    await server.Faults.WaitForDelayedWatchStreamsAsync();
                    server.Faults.SetWatchDelay(ApiResourceDefinition.Pods.Group, ApiResourceDefinition.Pods.Plural, TimeSpan.Zero);
                    Console.WriteLine("@RELEASED " + server.CurrentResourceVersion);
                }
                else if (parts[0] == "start" && parts.Length >= 2)
                {
                    var count = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    var rate = parts.Length >= 3 ? double.Parse(parts[2], CultureInfo.InvariantCulture) : 0;
                    if (generator is { IsCompleted: false })
                    {
                        Console.WriteLine("@ERROR a generator is already running");
                        continue;
                    }

                    var first = sequence;
                    sequence += count;
                    generator = Task.Run(() => GenerateAsync(server, keys, first, count, rate));
                }
                else
                {
                    Console.WriteLine("@ERROR unknown command: " + line);
                }
            }

            if (generator is not null)
            {
                await generator;
            }
        }

        return 0;
    }

    /// <summary>The bytes of one LIST of everything (as the reflector's first list gets it) and per item.</summary>
    private static async Task<(long Item, long List)> MeasureWireSizeAsync(Uri baseAddress, int objects)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(baseAddress, "api/v1/pods?resourceVersion=0"), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 16];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        return (objects == 0 ? 0 : total / objects, total);
    }

    private static async Task GenerateAsync(EmbeddedApiServer server, (string Namespace, string Name)[] keys, int first, int count, double rate)
    {
        try
        {
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                if (rate > 0)
                {
                    var due = TimeSpan.FromSeconds(i / rate);
                    var wait = due - clock.Elapsed;
                    if (wait > TimeSpan.FromMilliseconds(2))
                    {
                        await Task.Delay(wait);
                    }
                }

                var (ns, name) = keys[(first + i) % keys.Length];
                var patch = "{\"metadata\":{\"labels\":{\"bench/seq\":\"" + (first + i).ToString(CultureInfo.InvariantCulture) + "\"}}}";
                server.Objects.Patch(ApiResourceDefinition.Pods, ns, name, patch);
            }

            clock.Stop();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            var done = new JsonObject
            {
                ["events"] = count,
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
                ["eventsPerSecond"] = Math.Round(count / clock.Elapsed.TotalSeconds),
                ["serverCpuSeconds"] = Math.Round(cpu.TotalSeconds, 3),
                ["resourceVersion"] = server.CurrentResourceVersion,
            };
            Console.WriteLine("@GENERATED " + done.ToJsonString());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.WriteLine("@ERROR generator: " + ex.Message.ReplaceLineEndings(" "));
        }
    }
}
