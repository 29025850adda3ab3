using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// <c>sync</c> and <c>watch-throughput</c>: start a seeded server process, then one fresh client process per
/// measurement, collect their <c>@RESULT</c>s, print a median table and write every raw run to a JSON file.
/// </summary>
internal static class Orchestrator
{
    /// <summary>Named client runtime configurations (environment variables; GC values are hexadecimal).</summary>
    private static readonly Dictionary<string, Dictionary<string, string>> Variants = new(StringComparer.Ordinal)
    {
        ["default"] = [],
        ["wks-nonconc"] = new() { ["DOTNET_gcConcurrent"] = "0" },
        ["svr"] = new() { ["DOTNET_gcServer"] = "1" },
        ["svr-nodatas"] = new() { ["DOTNET_gcServer"] = "1", ["DOTNET_GCDynamicAdaptationMode"] = "0" },
        ["svr-2heap-aff"] = new() { ["DOTNET_gcServer"] = "1", ["DOTNET_GCDynamicAdaptationMode"] = "0", ["DOTNET_GCHeapCount"] = "2", ["DOTNET_GCHeapAffinitizeMask"] = "3" },
        ["svr-1heap"] = new() { ["DOTNET_gcServer"] = "1", ["DOTNET_GCDynamicAdaptationMode"] = "0", ["DOTNET_GCHeapCount"] = "1" },
        ["gen0-64m"] = new() { ["DOTNET_GCgen0size"] = "4000000" },
        ["gen0-64m-nonconc"] = new() { ["DOTNET_GCgen0size"] = "4000000", ["DOTNET_gcConcurrent"] = "0" },
        ["gen0-256m"] = new() { ["DOTNET_GCgen0size"] = "10000000" },
        ["retainvm"] = new() { ["DOTNET_GCRetainVM"] = "1" },
        ["conserve"] = new() { ["DOTNET_GCConserveMemory"] = "7" },
        ["pgo0"] = new() { ["DOTNET_TieredPGO"] = "0" },
        ["tc0"] = new() { ["DOTNET_TieredCompilation"] = "0" },
        ["quickjitloops0"] = new() { ["DOTNET_TC_QuickJitForLoops"] = "0" },
        ["nospin"] = new() { ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0" },
        ["dedup"] = [],
        ["nodedup"] = [],
        ["gcbatch"] = [],
        ["skipmf"] = [],
        ["forcache"] = [],
        ["nogzip"] = [],
        ["nodirect"] = [],
        ["noonepass"] = [],
        ["nodirectlist"] = [],
        ["datas"] = new() { ["DOTNET_gcServer"] = "1", ["DOTNET_GCDynamicAdaptationMode"] = "1" },
        // Profiling, not measurement: sampled allocations and GC events to /tmp/kc-client-PID.nettrace (read with alloc-report),
        // and a perf map so that `perf record` names JIT-compiled frames (W^X off: perf ignores the map for double-mapped
        // code), with the GC loaded from its standalone library (the same regions GC) so that Sync/perf-buckets.py can
        // attribute its samples.
        ["alloctrace"] = AllocationReportMode.Environment("/tmp/kc-client-{pid}.nettrace"),
        ["perfmap"] = new() { ["DOTNET_PerfMapEnabled"] = "1", ["DOTNET_EnableWriteXorExecute"] = "0", ["DOTNET_GCName"] = "libclrgcexp.so" },
    };

    /// <summary>Client flags of named variants; a variant name may combine parts with <c>+</c> (<c>dedup+nospin</c>).</summary>
    private static readonly Dictionary<string, string[]> VariantFlags = new(StringComparer.Ordinal)
    {
        ["dedup"] = ["--dedup-strings"],
        ["nodedup"] = ["--no-dedup"],
        ["gcbatch"] = ["--gc-batch"],
        ["skipmf"] = ["--skip-managed-fields"],
        ["forcache"] = ["--transform", "forcache"],
        ["nogzip"] = ["--no-gzip"],
        ["nodirect"] = ["--no-direct"],
        ["noonepass"] = ["--no-one-pass"],
        ["nodirectlist"] = ["--no-direct-list"],
    };

    private static IEnumerable<string> VariantParts(string variant) => variant.Split('+', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// Whether a model runs a variant: the KubernetesClient peer has neither client flags nor a watch-list path, and the
    /// k8s.Models decode options and transforms exist only for <c>k8s</c> and <c>meta</c>.
    /// </summary>
    private static bool Applies(string model, string path, string variant) => model switch
    {
        "kclient" => path == "list" && !FlagsOf(variant).Any(),
        // KubernetesClient models share values by default: "dedup" would repeat "default", "nodedup" opts out.
        "k8s" or "meta" => !VariantParts(variant).Contains("dedup"),
        _ => !VariantParts(variant).Any(static p => p is "skipmf" or "forcache" or "nodedup" or "noonepass"),
    };

    private static IEnumerable<string> FlagsOf(string variant) => VariantParts(variant).SelectMany(p => VariantFlags.GetValueOrDefault(p) ?? []);

    // client-go v0.36.0 against kube-apiserver + etcd, same machine class, 1.5 KB pods (from the brief).
    private static readonly Dictionary<(int, string), (double WallMs, double? CpuMs, double? RssMiB)> Anchors = new()
    {
        [(100_000, "list")] = (2970, 2910, 554),
        [(100_000, "watchlist")] = (6580, null, 418),
        [(10_000, "list")] = (281, null, null),
        [(10_000, "watchlist")] = (705, null, null),
    };

    public static async Task<int> SyncAsync(Args args)
    {
        var objectCounts = args.IntList("objects", 10_000);
        var pathArg = args.String("path", "both");
        var paths = pathArg == "both" ? new[] { "list", "watchlist" } : pathArg.Split(',');
        var modelArg = args.String("model", "typed");
        var models = modelArg == "both" ? new[] { "typed", "node" } : modelArg.Split(',');
        // Checked before a server is seeded: the client child would only say so after the list.
        Array.ForEach(models, ClientMode.RequireModel);
        // Both string decodings by default: the library's DeduplicatingStringConverter trades CPU for memory.
        var common = CommonOptions(args, "default,dedup");
        var clientFlags = ClientFlags(args);
        args.RejectUnknown();

        var report = NewReport("sync", Environment.GetCommandLineArgs());
        var runs = new JsonArray();
        report["runs"] = runs;
        var servers = new JsonArray();
        report["servers"] = servers;
        try
        {
            foreach (var n in objectCounts)
            {
                using var server = await StartServerAsync(n, common);
                servers.Add(JsonNode.Parse(server.Ready));
                var url = JsonNode.Parse(server.Ready)!["url"]!.GetValue<string>();
                for (var r = 1; r <= common.Repeat; r++)
                {
                    foreach (var path in paths)
                    {
                        foreach (var model in models)
                        {
                            foreach (var variant in common.Variants)
                            {
                                if (!Applies(model, path, variant))
                                {
                                    continue;
                                }

                                var label = $"N={n} {path} {model} {variant} #{r}";
                                var load = await WaitForQuietAsync(common);
                                var clientArgs = new List<string> { "client", "--url", url, "--path", path, "--objects", n.ToString(CultureInfo.InvariantCulture), "--model", model, "--timeout", common.TimeoutSeconds.ToString(CultureInfo.InvariantCulture) };
                                clientArgs.AddRange(clientFlags);
                                clientArgs.AddRange(FlagsOf(variant));
                                var result = await RunClientAsync(label, clientArgs, common.Environment(variant), common.Timeout, null);
                                result["variant"] = variant;
                                result["objects"] = n;
                                result["repeat"] = r;
                                result["loadBefore"] = load;
                                result["loadAfter"] = Load1();
                                runs.Add(result);
                                var sync = result["sync"]!;
                                await Console.Error.WriteLineAsync($"{label}: wall {sync["wallMs"]} ms, cpu {sync["cpuMs"]} ms, peak {Mib(result["peakWorkingSetBytes"]!.GetValue<long>()):0} MiB, load {load:0.00}");
                            }
                        }
                    }
                }

                await server.StopAsync();
            }
        }
        finally
        {
            var medians = SyncMedians(runs);
            report["medians"] = medians;
            var file = WriteReport(report, common.Out, "sync");
            Console.WriteLine(SyncTable(medians));
            Console.WriteLine($"raw runs and medians: {file}");
        }

        return runs.All(r => r!["countOk"]!.GetValue<bool>()) ? 0 : 3;
    }

    public static async Task<int> WatchThroughputAsync(Args args)
    {
        var events = args.Int("events", 200_000);
        var pods = args.Int("pods", 1000);
        var rate = args.Double("rate", 0);

        // drain (default): the server builds the whole backlog while the client's watch is held, then releases
        // it, so delivered events/s is the client's drain rate. paced: the old mode, events as generated.
        var pacing = args.String("pacing", "drain");

        // Updates before the measured ones, so the watch path is tier-1 JIT code (a LIST sync does not run it).
        var warmup = args.Int("warmup-events", pacing == "drain" ? 20_000 : 0);
        if (pacing is not ("drain" or "paced"))
        {
            throw new ArgumentException("--pacing must be drain or paced");
        }

        var path = args.String("path", "list");
        var model = args.String("model", "typed");
        if (model.Contains(',', StringComparison.Ordinal))
        {
            throw new ArgumentException("watch-throughput measures one --model per run");
        }

        ClientMode.RequireModel(model);
        var common = CommonOptions(args);
        var clientFlags = ClientFlags(args);
        args.RejectUnknown();

        var report = NewReport("watch-throughput", Environment.GetCommandLineArgs());
        var runs = new JsonArray();
        report["runs"] = runs;
        try
        {
            // Rounds outermost, as in the sync: on a noisy host each round compares the variants in the same minutes.
            for (var r = 1; r <= common.Repeat; r++)
            {
                foreach (var variant in common.Variants)
                {
                    // A fresh server per run: every run starts from the same store and history.
                    using var server = await StartServerAsync(pods, common);
                    var url = JsonNode.Parse(server.Ready)!["url"]!.GetValue<string>();
                    var load = await WaitForQuietAsync(common);
                    var label = $"watch {events} events {pacing} {variant} #{r}";
                    var clientArgs = new List<string>
                    {
                        "client", "--url", url, "--path", path, "--objects", pods.ToString(CultureInfo.InvariantCulture), "--model", model,
                        "--watch-events", events.ToString(CultureInfo.InvariantCulture), "--timeout", common.TimeoutSeconds.ToString(CultureInfo.InvariantCulture),
                    };
                    clientArgs.AddRange(clientFlags);
                    clientArgs.AddRange(FlagsOf(variant));
                    if (pacing == "drain")
                    {
                        clientArgs.Add("--drain");
                    }

                    if (warmup > 0)
                    {
                        clientArgs.AddRange(["--warmup-events", warmup.ToString(CultureInfo.InvariantCulture)]);
                    }

                    JsonNode? generated = null;
                    var result = await RunClientAsync(label, clientArgs, common.Environment(variant), common.Timeout, async client =>
                    {
                        await client.WaitForAsync("@SYNCED", common.Timeout);
                        if (warmup > 0)
                        {
                            await server.Process.SendAsync(string.Create(CultureInfo.InvariantCulture, $"start {warmup} 0"));
                            await server.Process.WaitForAsync("@GENERATED", common.Timeout);
                            await client.WaitForAsync("@WARM", common.Timeout);
                        }

                        if (pacing == "drain")
                        {
                            await server.Process.SendAsync("hold");
                            await server.Process.WaitForAsync("@HELD", common.Timeout);
                        }

                        await server.Process.SendAsync(string.Create(CultureInfo.InvariantCulture, $"start {events} {rate}"));
                        if (pacing == "drain")
                        {
                            generated = JsonNode.Parse(await server.Process.WaitForAsync("@GENERATED", common.Timeout));
                            await client.SendAsync("go");
                            await client.WaitForAsync("@ARMED", common.Timeout);
                            await server.Process.SendAsync("release");
                            await server.Process.WaitForAsync("@RELEASED", common.Timeout);
                        }
                    });
                    generated ??= JsonNode.Parse(await server.Process.WaitForAsync("@GENERATED", common.Timeout));
                    result["variant"] = variant;
                    result["pacing"] = pacing;
                    result["repeat"] = r;
                    result["generator"] = generated;
                    result["loadBefore"] = load;
                    result["loadAfter"] = Load1();
                    runs.Add(result);
                    var w = result["watch"]!;
                    await Console.Error.WriteLineAsync($"{label}: {w["eventsPerSecond"]} ev/s delivered (server generated {generated!["eventsPerSecond"]} ev/s), {w["cpuUsPerEvent"]} µs CPU/event, {w["allocatedBytesPerEvent"]} B/event, load {load:0.00}");
                    await server.StopAsync();
                }
            }
        }
        finally
        {
            var medians = WatchMedians(runs);
            report["medians"] = medians;
            var file = WriteReport(report, common.Out, "watch");
            Console.WriteLine(WatchTable(medians));
            Console.WriteLine($"raw runs and medians: {file}");
        }

        return 0;
    }

    private static async Task<JsonObject> RunClientAsync(string label, List<string> clientArgs, Dictionary<string, string> env, TimeSpan timeout, Func<ChildProcess, Task>? whileRunning)
    {
        using var client = ChildProcess.Start("client " + label, clientArgs, env);
        if (whileRunning is not null)
        {
            await whileRunning(client);
        }

        var payload = await client.WaitForAsync("@RESULT", timeout);
        if (!await client.WaitForExitAsync(TimeSpan.FromSeconds(30)))
        {
            await Console.Error.WriteLineAsync($"{label}: client did not exit; killed");
        }

        var result = JsonNode.Parse(payload)!.AsObject();
        result["env"] = new JsonObject(env.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        return result;
    }

    private static async Task<Server> StartServerAsync(int objects, Common common)
    {
        List<string> serveArgs = ["serve", "--objects", objects.ToString(CultureInfo.InvariantCulture), "--namespaces", common.Namespaces.ToString(CultureInfo.InvariantCulture)];
        if (common.ManagedFields)
        {
            serveArgs.Add("--managed-fields");
        }

        var server = ChildProcess.Start($"server N={objects}", serveArgs, common.ServerEnvironment);
        try
        {
            await Console.Error.WriteLineAsync($"seeding {objects} pods in server process {server.Id} …");
            var ready = await server.WaitForAsync("@READY", common.SeedTimeout);
            await Console.Error.WriteLineAsync($"server ready: {ready}");
            return new Server(server, ready);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private static async Task<double> WaitForQuietAsync(Common common)
    {
        var waited = TimeSpan.Zero;
        var step = TimeSpan.FromSeconds(5);
        var load = Load1();
        while (load > common.MaxLoad && waited < common.LoadWait)
        {
            await Console.Error.WriteLineAsync($"load {load:0.00} > {common.MaxLoad:0.00}: waiting …");
            await Task.Delay(step);
            waited += step;
            load = Load1();
        }

        return load;
    }

    private static double Load1() => ProcStats.LoadAverage()?[0] ?? double.NaN;

    private static Common CommonOptions(Args args, string defaultVariants = "default")
    {
        var variants = args.String("variants", defaultVariants).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var v in variants)
        {
            if (!VariantParts(v).All(Variants.ContainsKey))
            {
                throw new ArgumentException($"unknown variant '{v}'; known: {string.Join(", ", Variants.Keys)}");
            }
        }

        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in args.All("env"))
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            extra[kv[..eq]] = kv[(eq + 1)..];
        }

        var timeoutSeconds = args.Int("timeout", 300);
        return new Common
        {
            Repeat = args.Int("repeat", 3),
            Namespaces = args.Int("namespaces", 100),
            TimeoutSeconds = timeoutSeconds,
            Timeout = TimeSpan.FromSeconds(timeoutSeconds + 30),
            SeedTimeout = TimeSpan.FromSeconds(args.Int("seed-timeout", 900)),
            MaxLoad = args.Double("max-load", 1.5),
            LoadWait = TimeSpan.FromSeconds(args.Int("load-wait", 120)),
            Out = args.String("out"),
            ManagedFields = args.Flag("managed-fields"),
            VariantNames = variants,
            Extra = extra,
        };
    }

    /// <summary>Options passed through to every client.</summary>
    private static List<string> ClientFlags(Args args)
    {
        var flags = new List<string>();
        foreach (var flag in (string[])["breakdown", "no-index", "case-insensitive", "no-settle", "dedup-strings", "no-dedup"])
        {
            if (args.Flag(flag))
            {
                flags.Add("--" + flag);
            }
        }

        if (args.String("handlers") is { } h)
        {
            flags.AddRange(["--handlers", h]);
        }

        if (args.String("warmup-namespace") is { } w)
        {
            flags.AddRange(["--warmup-namespace", w]);
        }

        return flags;
    }

    private static JsonObject NewReport(string kind, string[] commandLine) => new()
    {
        ["kind"] = kind,
        ["startedUtc"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        ["commandLine"] = string.Join(' ', commandLine.Skip(1)),
        ["machine"] = Environment.MachineName,
        ["processors"] = Environment.ProcessorCount,
        ["loadAtStart"] = new JsonArray((ProcStats.LoadAverage() ?? []).Select(x => (JsonNode?)x).ToArray()),
        ["runtime"] = Environment.Version.ToString(),
        ["gitCommit"] = GitCommit(),
    };

    private static string? GitCommit()
    {
        try
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, ".git")) && !File.Exists(Path.Combine(dir.FullName, ".git")))
            {
                dir = dir.Parent;
            }

            if (dir is null)
            {
                return null;
            }

            var psi = new System.Diagnostics.ProcessStartInfo("git", "rev-parse --short HEAD") { WorkingDirectory = dir.FullName, RedirectStandardOutput = true, UseShellExecute = false };
            using var p = System.Diagnostics.Process.Start(psi);
            var output = p?.StandardOutput.ReadToEnd().Trim();
            p?.WaitForExit();
            return output;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string WriteReport(JsonObject report, string? outPath, string kind)
    {
        var file = outPath ?? Path.Combine("BenchmarkDotNet.Artifacts", "sync", $"{kind}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        File.WriteAllText(file, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return Path.GetFullPath(file);
    }

    private static readonly string[] SyncMetrics =
    [
        "sync.wallMs", "sync.cpuMs", "sync.userMs", "sync.sysMs", "peakWorkingSetBytes", "sync.allocatedBytes", "sync.gen0", "sync.gen1", "sync.gen2",
        "sync.gcPauseMs", "sync.jitMs", "sync.jitMethods", "liveBytesAfterFullGc", "workingSetAfterSettleBytes", "gcHeapSizeAtSyncBytes", "startupMs", "loadBefore", "wireBytesAtSync",
    ];

    private static JsonArray SyncMedians(JsonArray runs)
    {
        var groups = runs.Select(r => r!.AsObject())
            .GroupBy(r => (N: r["objects"]!.GetValue<int>(), Path: r["path"]!.GetValue<string>(), Model: r["model"]!.GetValue<string>(), Variant: r["variant"]!.GetValue<string>()));
        var result = new JsonArray();
        foreach (var g in groups.OrderBy(g => g.Key.N).ThenBy(g => g.Key.Path, StringComparer.Ordinal))
        {
            var o = new JsonObject
            {
                ["objects"] = g.Key.N,
                ["path"] = g.Key.Path,
                ["model"] = g.Key.Model,
                ["variant"] = g.Key.Variant,
                ["runs"] = g.Count(),
                ["allCountsOk"] = g.All(r => r["countOk"]!.GetValue<bool>()),
            };
            foreach (var metric in SyncMetrics)
            {
                var values = g.Select(r => Get(r, metric)).Where(v => v is not null).Select(v => v!.Value).ToList();
                if (values.Count > 0)
                {
                    o[metric] = Median(values);
                    o[metric + ".min"] = values.Min();
                    o[metric + ".max"] = values.Max();
                }
            }

            // Thread groups: median per group name.
            var threads = new JsonObject();
            foreach (var name in g.SelectMany(r => r["sync"]?["threadCpuMs"]?.AsObject().Select(kv => kv.Key) ?? []).Distinct())
            {
                threads[name] = Median(g.Select(r => r["sync"]?["threadCpuMs"]?[name]?.GetValue<double>() ?? 0).ToList());
            }

            o["threadCpuMs"] = threads;
            if (g.Any(r => r["breakdown"] is not null))
            {
                var breakdown = new JsonObject();
                foreach (var name in g.SelectMany(r => r["breakdown"]?.AsObject().Select(kv => kv.Key) ?? []).Distinct())
                {
                    breakdown[name] = Median(g.Select(r => r["breakdown"]?[name]?.GetValue<double>() ?? 0).ToList());
                }

                o["breakdown"] = breakdown;
            }

            if (Anchors.TryGetValue((g.Key.N, g.Key.Path), out var anchor))
            {
                o["anchor"] = new JsonObject { ["wallMs"] = anchor.WallMs, ["cpuMs"] = anchor.CpuMs, ["peakRssMiB"] = anchor.RssMiB };
            }

            result.Add(o);
        }

        return result;
    }

    private static JsonArray WatchMedians(JsonArray runs)
    {
        var result = new JsonArray();
        foreach (var g in runs.Select(r => r!.AsObject()).GroupBy(r => r["pacing"]!.GetValue<string>() + " " + r["variant"]!.GetValue<string>()))
        {
            var o = new JsonObject { ["variant"] = g.Key, ["runs"] = g.Count(), ["allComplete"] = g.All(r => r["watch"]?["complete"]?.GetValue<bool>() == true) };
            foreach (var metric in (string[])["watch.updates", "watch.eventsPerSecond", "watch.cpuMs", "watch.cpuUsPerEvent", "watch.allocatedBytesPerEvent", "watch.workItemsPerEvent", "watch.wireBytesPerEvent", "watch.gen0", "watch.gen1", "watch.gen2", "watch.gcPauseMs", "watch.peakWorkingSetBytes", "generator.eventsPerSecond", "generator.serverCpuSeconds", "loadBefore"])
            {
                var values = g.Select(r => Get(r, metric)).Where(v => v is not null).Select(v => v!.Value).ToList();
                if (values.Count > 0)
                {
                    o[metric] = Median(values);
                    o[metric + ".min"] = values.Min();
                    o[metric + ".max"] = values.Max();
                }
            }

            result.Add(o);
        }

        return result;
    }

    private static string SyncTable(JsonArray medians)
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine("| N | path | model | variant | runs | wall ms (min–max) | client CPU ms (min–max) | peak RSS MiB | allocated MiB | gen0/1/2 | GC pause ms | JIT ms | live MiB after GC | live B/object | wire B/object | peak / settled RSS | CPU / RSS vs KubernetesClient alone | anchor wall / CPU / RSS | target CPU ≤ / RSS ≤ | load |");
        sb.AppendLine("|---:|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|");
        var peers = medians.Select(x => x!.AsObject()).Where(m => m["model"]!.GetValue<string>() == "kclient" && m["variant"]!.GetValue<string>() == "default")
            .ToDictionary(m => m["objects"]!.GetValue<int>());
        foreach (var m in medians.Select(x => x!.AsObject()))
        {
            var objects = m["objects"]!.GetValue<int>();
            var perObject = objects > 0 ? D(m, "liveBytesAfterFullGc") / objects : double.NaN;
            var ratio = peers.TryGetValue(objects, out var peer)
                ? string.Create(CultureInfo.InvariantCulture, $"{D(m, "sync.cpuMs") / D(peer, "sync.cpuMs"):0.00}× / {D(m, "peakWorkingSetBytes") / D(peer, "peakWorkingSetBytes"):0.00}×")
                : "–";
            var anchor = m["anchor"];
            var anchorText = anchor is null ? "–" : $"{anchor["wallMs"]} / {anchor["cpuMs"]?.ToString() ?? "?"} / {anchor["peakRssMiB"]?.ToString() ?? "?"}";
            var targetText = anchor is null ? "–" : $"{(anchor["cpuMs"] is { } c ? (c.GetValue<double>() / 2).ToString("0", CultureInfo.InvariantCulture) : "?")} / {anchor["peakRssMiB"]?.ToString() ?? "?"}";
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {m["objects"]} | {m["path"]} | {m["model"]} | {m["variant"]} | {m["runs"]}{(m["allCountsOk"]!.GetValue<bool>() ? "" : " (COUNT MISMATCH)")} " +
                $"| {D(m, "sync.wallMs"):0} ({D(m, "sync.wallMs.min"):0}–{D(m, "sync.wallMs.max"):0}) " +
                $"| {D(m, "sync.cpuMs"):0} ({D(m, "sync.cpuMs.min"):0}–{D(m, "sync.cpuMs.max"):0}) " +
                $"| {Mib(D(m, "peakWorkingSetBytes")):0} | {Mib(D(m, "sync.allocatedBytes")):0} " +
                $"| {D(m, "sync.gen0"):0}/{D(m, "sync.gen1"):0}/{D(m, "sync.gen2"):0} | {D(m, "sync.gcPauseMs"):0} | {D(m, "sync.jitMs"):0} " +
                $"| {Mib(D(m, "liveBytesAfterFullGc")):0} | {perObject:0} | {D(m, "wireBytesAtSync") / objects:0} | {D(m, "peakWorkingSetBytes") / D(m, "workingSetAfterSettleBytes"):0.00} | {ratio} | {anchorText} | {targetText} | {D(m, "loadBefore"):0.00} |"));
        }

        return sb.ToString();
    }

    private static string WatchTable(JsonArray medians)
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine("| variant | runs | updates | delivered ev/s (min–max) | generated ev/s | client CPU µs/event | client alloc B/event | thread-pool work items/event | wire B/event | gen0/1/2 | GC pause ms | peak RSS MiB | load |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|");
        foreach (var m in medians.Select(x => x!.AsObject()))
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {m["variant"]} | {m["runs"]}{(m["allComplete"]!.GetValue<bool>() ? "" : " (INCOMPLETE)")} | {D(m, "watch.updates"):0} " +
                $"| {D(m, "watch.eventsPerSecond"):0} ({D(m, "watch.eventsPerSecond.min"):0}–{D(m, "watch.eventsPerSecond.max"):0}) | {D(m, "generator.eventsPerSecond"):0} " +
                $"| {D(m, "watch.cpuUsPerEvent"):0.0} | {D(m, "watch.allocatedBytesPerEvent"):0} | {D(m, "watch.workItemsPerEvent"):0.00} | {D(m, "watch.wireBytesPerEvent"):0} | {D(m, "watch.gen0"):0}/{D(m, "watch.gen1"):0}/{D(m, "watch.gen2"):0} " +
                $"| {D(m, "watch.gcPauseMs"):0} | {Mib(D(m, "watch.peakWorkingSetBytes")):0} | {D(m, "loadBefore"):0.00} |"));
        }

        return sb.ToString();
    }

    private static double? Get(JsonObject run, string dotted)
    {
        JsonNode? node = run;
        foreach (var part in dotted.Split('.'))
        {
            node = node?[part];
        }

        return node is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
    }

    private static double D(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN;

    private static double Median(List<double> values)
    {
        values.Sort();
        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    private static double Mib(double bytes) => bytes / (1024.0 * 1024.0);

    private sealed class Common
    {
        public int Repeat { get; init; }

        public int Namespaces { get; init; }

        public int TimeoutSeconds { get; init; }

        public TimeSpan Timeout { get; init; }

        public TimeSpan SeedTimeout { get; init; }

        public double MaxLoad { get; init; }

        public TimeSpan LoadWait { get; init; }

        public string? Out { get; init; }

        public bool ManagedFields { get; init; }

        public required IReadOnlyList<string> VariantNames { get; init; }

        public required Dictionary<string, string> Extra { get; init; }

        public IReadOnlyList<string> Variants => VariantNames;

        /// <summary>The server process runs with the default runtime settings of this executable.</summary>
        public Dictionary<string, string> ServerEnvironment { get; } = [];

        public Dictionary<string, string> Environment(string variant)
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var part in Orchestrator.VariantParts(variant))
            {
                foreach (var (k, v) in Orchestrator.Variants[part])
                {
                    env[k] = v;
                }
            }

            foreach (var (k, v) in Extra)
            {
                env[k] = v;
            }

            return env;
        }
    }

    private sealed class Server(ChildProcess process, string ready) : IDisposable
    {
        public ChildProcess Process { get; } = process;

        public string Ready { get; } = ready;

        public async Task StopAsync()
        {
            await Process.SendAsync("quit");
            if (!await Process.WaitForExitAsync(TimeSpan.FromSeconds(30)))
            {
                Process.Kill();
            }
        }

        public void Dispose() => Process.Dispose();
    }
}
