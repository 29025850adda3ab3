using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// <c>client --model kclient</c>: the peer, what a C# operator does with KubernetesClient 21 alone — one unpaged LIST of
/// every pod into a dictionary, then a watch from the list's resource version — measured like <see cref="ClientMode"/>
/// (the figures stop once the watch is open). No informer, no paging, no watch-list; KubernetesClient's own decoding.
/// </summary>
internal static class KubernetesClientPeer
{
    public static async Task<int> RunAsync(Args args)
    {
        var url = args.String("url") ?? throw new ArgumentException("--url is required");
        var path = args.String("path", "list");
        var expected = args.Int("objects", -1);
        var timeout = TimeSpan.FromSeconds(args.Int("timeout", 300));
        var settle = !args.Flag("no-settle");
        args.RejectUnknown();

        using var self = Process.GetCurrentProcess();
        var startup = DateTime.Now - self.StartTime;
        var start = Snapshot.Take();
        using var stop = new CancellationTokenSource(timeout);
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = url });
        var list = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: stop.Token);
        var pods = new Dictionary<string, V1Pod>(list.Items.Count, StringComparer.Ordinal);
        foreach (var pod in list.Items)
        {
            pods[pod.Metadata.NamespaceProperty + "/" + pod.Metadata.Name] = pod;
        }

        var listResourceVersion = list.Metadata.ResourceVersion;
        list = null;

        // The watch a hand-written cache keeps open; measured up to the moment the server has answered it.
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Task.Run(async () =>
        {
            try
            {
                await foreach (var (type, pod) in client.CoreV1.WatchListPodForAllNamespacesAsync(resourceVersion: listResourceVersion, allowWatchBookmarks: true, cancellationToken: stop.Token).ConfigureAwait(false))
                {
                    opened.TrySetResult();
                    lock (pods)
                    {
                        var key = pod.Metadata.NamespaceProperty + "/" + pod.Metadata.Name;
                        if (type == WatchEventType.Deleted)
                        {
                            pods.Remove(key);
                        }
                        else if (type is WatchEventType.Added or WatchEventType.Modified)
                        {
                            pods[key] = pod;
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        // A watch from "now" on a quiet server sends nothing until something changes; the request going out is the end.
        await Task.WhenAny(opened.Task, Task.Delay(TimeSpan.FromMilliseconds(200), stop.Token));
        var synced = Snapshot.Take();
        self.Refresh();
        int count;
        lock (pods)
        {
            count = pods.Count;
        }

        var result = new JsonObject
        {
            ["mode"] = "sync",
            ["path"] = path,
            ["model"] = "kclient",
            ["expected"] = expected,
            ["storeCount"] = count,
            ["countOk"] = expected < 0 || count == expected,
            ["startupMs"] = Snapshot.Ms(startup),
            ["processCpuAtSyncMs"] = Snapshot.Ms(synced.Cpu),
            ["sync"] = synced.Since(start),
            ["peakWorkingSetBytes"] = self.PeakWorkingSet64,
            ["workingSetAtSyncBytes"] = self.WorkingSet64,
            ["runtime"] = RuntimeInfo.Describe(),
        };
        await stop.CancelAsync();
        await watch;
        if (settle)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            result["liveBytesAfterFullGc"] = GC.GetTotalMemory(forceFullCollection: false);
            GC.KeepAlive(pods);
        }

        Console.WriteLine("@RESULT " + result.ToJsonString());
        return result["countOk"]!.GetValue<bool>() ? 0 : 3;
    }
}
