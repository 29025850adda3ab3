using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Http;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// <c>phases</c>: where the client's sync time goes, one step at a time in one process (CPU, wall, allocation
/// and GCs per step; a full GC between steps): raw HTTP read of the LIST and watch-list bodies, JSON decode from
/// memory (sync and streaming), the real client's list and watch-list, key computation, FIFO + store, and the
/// reflector's temporary map. Starts its own server process unless given <c>--url</c>.
/// </summary>
internal static class PhasesMode
{
    public static async Task<int> RunAsync(Args args)
    {
        var url = args.String("url");
        var objects = args.Int("objects", 100_000);
        var iterations = args.Int("iterations", 2);
        var namespaces = args.Int("namespaces", 100);
        var only = args.String("only")?.Split(',').ToHashSet(StringComparer.Ordinal);
        var outPath = args.String("out");
        var managedFields = args.Flag("managed-fields");
        args.RejectUnknown();

        ChildProcess? server = null;
        try
        {
            if (url is null)
            {
                List<string> serveArgs = ["serve", "--objects", objects.ToString(CultureInfo.InvariantCulture), "--namespaces", namespaces.ToString(CultureInfo.InvariantCulture)];
                if (managedFields)
                {
                    serveArgs.Add("--managed-fields");
                }

                server = ChildProcess.Start($"server N={objects}", serveArgs);
                var ready = JsonNode.Parse(await server.WaitForAsync("@READY", TimeSpan.FromMinutes(15)))!;
                url = ready["url"]!.GetValue<string>();
                await Console.Error.WriteLineAsync("server ready: " + ready.ToJsonString());
            }

            var report = new JsonObject
            {
                ["kind"] = "phases",
                ["objects"] = objects,
                ["load"] = new JsonArray((ProcStats.LoadAverage() ?? []).Select(x => (JsonNode?)x).ToArray()),
                ["runtime"] = RuntimeInfo.Describe(),
            };
            var all = new JsonArray();
            report["iterations"] = all;
            for (var i = 1; i <= iterations; i++)
            {
                var phases = await RunPhasesAsync(new Uri(url), only);
                all.Add(phases);
                Console.WriteLine();
                Console.WriteLine($"iteration {i} (load {ProcStats.LoadAverage()?[0]:0.00})");
                Console.WriteLine(Table(phases));
            }

            var file = outPath ?? Path.Combine("BenchmarkDotNet.Artifacts", "sync", $"phases-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            await File.WriteAllTextAsync(file, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine("phases written to " + Path.GetFullPath(file));
        }
        finally
        {
            if (server is not null)
            {
                await server.SendAsync("quit");
                await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
                server.Dispose();
            }
        }

        return 0;
    }

    private static async Task<JsonArray> RunPhasesAsync(Uri url, HashSet<string>? only)
    {
        var phases = new JsonArray();
        var typeInfo = BenchJsonContext.Default.BenchPod;
        using var http = new HttpClient { BaseAddress = url, Timeout = Timeout.InfiniteTimeSpan };
        using var connection = KubernetesConnection.ForServer(url);
        var client = connection.Resource(new ResourceClientOptions<BenchPod> { Resource = GroupVersionResource.Pods, Kind = "Pod", TypeInfo = typeInfo });

        async Task<T> Phase<T>(string name, Func<Task<T>> body, Func<T, long>? count = null)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            var before = Snapshot.Take();
            var value = await body();
            var d = Snapshot.Take().Since(before);
            d["phase"] = name;
            if (count is not null)
            {
                d["items"] = count(value);
            }

            phases.Add(d);
            return value;
        }

        bool Want(string name) => only is null || only.Contains(name);

        // --- LIST path -------------------------------------------------------------------------------------
        const string ListPath = "api/v1/pods?resourceVersion=0";
        await Phase("http-list-read", async () => await ReadAllAsync(http, ListPath, null), n => n);
        var listBytes = await ReadBytesAsync(http, ListPath);
        await Phase("decode-list-span", () => Task.FromResult(JsonSerializer.Deserialize(listBytes, BenchJsonContext.Default.BenchPodList)!.Items!.Count), n => n);
        await Phase("decode-list-stream", async () =>
        {
            using var ms = new MemoryStream(listBytes, writable: false);
            return (await JsonSerializer.DeserializeAsync(ms, BenchJsonContext.Default.BenchPodList))!.Items!.Count;
        }, n => n);
        if (Want("decode-list-node"))
        {
            await Phase("decode-list-jsonnode", () => Task.FromResult(JsonNode.Parse(listBytes)!["items"]!.AsArray().Count), n => n);
        }

        var page = await Phase("client-list (http+decode)", async () => await client.ListAsync(new ListOptions { ResourceVersion = "0" }), p => p.Items.Count);
        var items = page.Items;
        var keyFunc = ObjectKeys.MetaNamespaceKeyFunc<BenchPod>();
        await Phase("keys (default accessor)", () =>
        {
            long chars = 0;
            foreach (var item in items)
            {
                chars += keyFunc(item).Length;
            }

            return Task.FromResult(chars);
        });
        await Phase("store-replace (ns index)", () =>
        {
            var store = Store.Create(new StoreOptions<BenchPod> { Indexers = NsIndex(), TrackResourceVersion = true });
            store.Replace(items, page.ResourceVersion);
            return Task.FromResult((long)store.Count);
        }, n => n);
        await Phase("store-replace (no index)", () =>
        {
            var store = Store.Create(new StoreOptions<BenchPod> { TrackResourceVersion = true });
            store.Replace(items, page.ResourceVersion);
            return Task.FromResult((long)store.Count);
        }, n => n);
        await Phase("fifo-replace+pop+process (informer consumer)", async () => await FifoAndStoreAsync(items, page.ResourceVersion), n => n);

        // --- watch-list path -------------------------------------------------------------------------------
        const string WatchListPath = "api/v1/pods?allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&timeoutSeconds=600&watch=true";
        await Phase("http-watchlist-read", async () => await ReadAllAsync(http, WatchListPath, "k8s.io/initial-events-end"u8.ToArray()), n => n);
        var watchBytes = await ReadUntilAsync(http, WatchListPath, "k8s.io/initial-events-end"u8.ToArray());
        await Phase("decode-watch-lines (scan+deserialize, as WatchEventDecoder)", () => Task.FromResult(DecodeLines(watchBytes, typeInfo, scanFirst: true)), n => n);
        await Phase("decode-watch-lines (one-pass envelope)", () => Task.FromResult(DecodeLines(watchBytes, typeInfo, scanFirst: false)), n => n);
        await Phase("client-watchlist (http+decode)", async () =>
        {
            using var cts = new CancellationTokenSource();
            long n = 0;
            await foreach (var e in client.WatchAsync(
                new WatchOptions { ResourceVersionMatch = ResourceVersionMatch.NotOlderThan, AllowWatchBookmarks = true, SendInitialEvents = true, TimeoutSeconds = 600 }, cts.Token))
            {
                if (e.IsInitialEventsEnd)
                {
                    break;
                }

                n++;
            }

            return n;
        }, n => n);
        await Phase("reflector temp map + copy (watch-list)", () =>
        {
            var temporary = new Dictionary<string, BenchPod>(StringComparer.Ordinal);
            foreach (var item in items)
            {
                temporary[keyFunc(item)] = item;
            }

            BenchPod[] copy = [.. temporary.Values];
            return Task.FromResult((long)copy.Length);
        }, n => n);

        GC.KeepAlive(items);
        return phases;
    }

    private static Dictionary<string, IndexFunc<BenchPod>> NsIndex() => new() { [Indexes.Namespace] = Indexes.ByNamespace<BenchPod>() };

    /// <summary>The informer's consumer: an atomic RealFIFO Replace, one pop, DeltaProcessor into an indexed store.</summary>
    private static async Task<long> FifoAndStoreAsync(IReadOnlyList<BenchPod> items, string rv)
    {
        var store = Store.Create(new StoreOptions<BenchPod> { Indexers = NsIndex(), TrackResourceVersion = true });
        var fifo = RealFifo.Create(new RealFifoOptions<BenchPod> { KeyFunction = store.KeyFunction, AtomicEvents = true, EmitDeltaTypeBookmark = true, UnlockWhileProcessing = true });
        var handler = new CountingHandler<BenchPod>(0);
        fifo.Replace(items, rv);
        await fifo.PopBatchAsync(
            (deltas, initial) => DeltaProcessor.ProcessBatch(store, handler, deltas, initial),
            (delta, initial) => DeltaProcessor.Process(store, handler, delta, initial));
        return handler.Adds;
    }

    private static long DecodeLines(byte[] bytes, JsonTypeInfo<BenchPod> typeInfo, bool scanFirst)
    {
        long n = 0;
        var span = bytes.AsSpan();
        while (span.Length > 0)
        {
            var nl = span.IndexOf((byte)'\n');
            var line = nl < 0 ? span : span[..nl];
            span = nl < 0 ? default : span[(nl + 1)..];
            if (line.IsEmpty || line.IndexOf("\"BOOKMARK\""u8) >= 0)
            {
                continue;
            }

            if (scanFirst)
            {
                // Pass 1: find the object's bounds and read metadata.resourceVersion (skips the rest); pass 2: deserialize the slice.
                var reader = new Utf8JsonReader(line);
                reader.Read();
                int start = 0, length = 0;
                string? rv = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("object"u8))
                    {
                        reader.Read();
                        start = (int)reader.TokenStartIndex;
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("metadata"u8))
                            {
                                reader.Read();
                                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                                {
                                    var isRv = reader.ValueTextEquals("resourceVersion"u8);
                                    reader.Read();
                                    if (isRv)
                                    {
                                        rv = reader.GetString();
                                    }
                                    else
                                    {
                                        reader.Skip();
                                    }
                                }
                            }
                            else
                            {
                                reader.Read();
                                reader.Skip();
                            }
                        }

                        length = (int)reader.BytesConsumed - start;
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }

                var pod = JsonSerializer.Deserialize(line.Slice(start, length), typeInfo);
                if (pod is not null && rv is not null)
                {
                    n++;
                }
            }
            else
            {
                var evt = JsonSerializer.Deserialize(line, BenchJsonContext.Default.BenchWatchEvent);
                if (evt?.Object?.Metadata?.ResourceVersion is not null)
                {
                    n++;
                }
            }
        }

        return n;
    }

    private static async Task<long> ReadAllAsync(HttpClient http, string path, byte[]? stopAt)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 16];
        var window = new StopWindow(stopAt);
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
            if (window.Seen(buffer.AsSpan(0, read)))
            {
                break;
            }
        }

        return total;
    }

    private static async Task<byte[]> ReadBytesAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task<byte[]> ReadUntilAsync(HttpClient http, string path, byte[] stopAt)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync();
        using var ms = new MemoryStream();
        var buffer = new byte[1 << 16];
        var window = new StopWindow(stopAt);
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            ms.Write(buffer, 0, read);
            if (window.Seen(buffer.AsSpan(0, read)))
            {
                break;
            }
        }

        return ms.ToArray();
    }

    private static string Table(JsonArray phases)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| phase | items/bytes | wall ms | CPU ms | allocated MiB | gen0/1/2 | GC pause ms | JIT ms |");
        sb.AppendLine("|---|---:|---:|---:|---:|---|---:|---:|");
        foreach (var p in phases.Select(x => x!))
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {p["phase"]} | {p["items"]} | {p["wallMs"]} | {p["cpuMs"]} | {p["allocatedBytes"]!.GetValue<long>() / 1048576.0:0.0} | {p["gen0"]}/{p["gen1"]}/{p["gen2"]} | {p["gcPauseMs"]} | {p["jitMs"]} |"));
        }

        return sb.ToString();
    }

    /// <summary>Finds a marker in a stream read chunk by chunk, including across chunk boundaries.</summary>
    private sealed class StopWindow(byte[]? marker)
    {
        private byte[] _carry = [];

        public bool Seen(ReadOnlySpan<byte> chunk)
        {
            if (marker is null)
            {
                return false;
            }

            var joined = new byte[_carry.Length + Math.Min(chunk.Length, marker.Length)];
            _carry.CopyTo(joined, 0);
            chunk[..Math.Min(chunk.Length, marker.Length)].CopyTo(joined.AsSpan(_carry.Length));
            if (chunk.IndexOf(marker) >= 0 || joined.AsSpan().IndexOf(marker) >= 0)
            {
                return true;
            }

            _carry = chunk[Math.Max(0, chunk.Length - marker.Length)..].ToArray();
            return false;
        }
    }
}
