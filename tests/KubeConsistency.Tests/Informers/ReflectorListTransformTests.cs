using System.Runtime.CompilerServices;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Informers;

/// <summary>
/// The reflector applies the informer's transform to listed objects as they arrive, once each, so that a relist never
/// holds every object untransformed: §5.2's watch-list temporary store as upstream (kubernetes#131799), §5.1's LIST
/// pages as our extension (docs/compatibility.md, Informers), with §2.3's Replace queuing them untouched.
/// </summary>
public sealed class ReflectorListTransformTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(800);

    [Fact]
    public async Task A_streamed_list_is_transformed_item_by_item_as_it_is_decoded_and_each_object_once()
    {
        var log = new List<string>();
        var source = new StreamingSource(log, [Pod("ns", "a", "1"), Pod("ns", "b", "2"), Pod("ns", "c", "3")]);
        var informer = SharedIndexInformer.Create(source, new SharedIndexInformerOptions<TestPod>
        {
            Resource = GroupVersionResource.Pods,
            UseWatchList = false,
            Transform = Recording(log),
        });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync().WaitAsync(Guard);

        // Each item was transformed before the next one was decoded, and never again when the queue replaced.
        Assert.Equal(["decoded a", "transformed a", "decoded b", "transformed b", "decoded c", "transformed c"], Snapshot(log));
        Assert.Equal(["a:transformed", "b:transformed", "c:transformed"], informer.Indexer.List().Select(p => $"{p.Metadata!.Name}:{p.Payload}").Order(StringComparer.Ordinal));
        Assert.Equal(0, source.PageCalls); // the page API was not used

        await stop.CancelAsync();
        await run.WaitAsync(Guard);
    }

    [Fact]
    public async Task Pages_of_a_list_watch_that_does_not_stream_are_transformed_as_each_arrives_and_each_object_once()
    {
        var log = new List<string>();
        await using var h = new InformerHarness(o => o with { Transform = Recording(log) });
        var first = await h.Source.NextListAsync();
        first.Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1"), Pod("ns", "b", "2")], continueToken: "page-2"));

        // The second page is requested only after the first page's objects were transformed.
        var second = await h.Source.NextListAsync();
        Assert.Equal("page-2", second.Options.Continue);
        Assert.Equal(["transformed a", "transformed b"], Snapshot(log));
        second.Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "c", "3")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);

        Assert.Equal(["transformed a", "transformed b", "transformed c"], Snapshot(log));
        Assert.Equal(3, h.Informer.Indexer.List().Count(p => p.Payload == "transformed"));
    }

    [Fact]
    public async Task Watch_list_initial_events_are_transformed_on_arrival_before_the_end_bookmark_and_each_object_once()
    {
        var log = new List<string>();
        var secondTransformed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var transform = Recording(log);
        await using var h = new InformerHarness(o => o with
        {
            UseWatchList = true,
            Transform = pod =>
            {
                var result = transform(pod);
                if (pod.Metadata!.Name == "b")
                {
                    secondTransformed.TrySetResult();
                }

                return result;
            },
        });
        var watch = await h.Source.NextWatchAsync();
        watch.Added(Pod("ns", "a", "20"));
        watch.Added(Pod("ns", "b", "30"));
        await secondTransformed.Task.WaitAsync(Guard);

        // Transformed while the initial events were still streaming: nothing has reached the queue yet.
        Assert.Equal(["transformed a", "transformed b"], Snapshot(log));
        Assert.False(h.Informer.HasSynced);
        Assert.Empty(h.Informer.Indexer.List());

        watch.Bookmark("40", initialEventsEnd: true);
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(["transformed a", "transformed b"], Snapshot(log));
        Assert.Equal(2, h.Informer.Indexer.List().Count(p => p.Payload == "transformed"));

        // Later events are transformed once too, by the queue.
        Assert.Equal(["add ns/a@20 initial", "add ns/b@30 initial"], (await h.Events.NextAsync(2)).Order(StringComparer.Ordinal));
        watch.Modified(Pod("ns", "a", "41"));
        Assert.Equal("update ns/a 20->41", await h.Events.NextAsync());
        Assert.Equal(["transformed a", "transformed b", "transformed a"], Snapshot(log));
    }

    [Fact]
    public async Task A_transform_that_throws_during_the_list_fails_that_list_with_nothing_queued_and_the_next_list_retries()
    {
        var calls = 0;
        await using var h = new InformerHarness(o => o with
        {
            Transform = pod => Interlocked.Increment(ref calls) == 2 ? throw new InvalidOperationException("transform broke") : pod,
        });
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("10", [Pod("ns", "a", "1"), Pod("ns", "b", "2")]));
        await h.Time.WaitForTimerDueInAsync(FirstBackoff).WaitAsync(Guard);

        Assert.Equal(1, h.Informer.Statistics.ListFailures);
        Assert.Equal(0, h.Informer.Statistics.Lists);
        Assert.False(h.Informer.HasSynced);
        Assert.Empty(h.Informer.Indexer.List());

        h.Time.Advance(FirstBackoff);
        (await h.Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page("11", [Pod("ns", "a", "1"), Pod("ns", "b", "2")]));
        await h.Informer.WaitForSyncAsync().WaitAsync(Guard);
        Assert.Equal(["ns/a", "ns/b"], h.Informer.Indexer.ListKeys().Order(StringComparer.Ordinal));
        Assert.Equal(4, calls);
    }

    private static Func<TestPod, TestPod> Recording(List<string> log) => pod =>
    {
        lock (log)
        {
            log.Add("transformed " + pod.Metadata!.Name);
        }

        pod.Payload = "transformed";
        return pod;
    };

    private static List<string> Snapshot(List<string> log)
    {
        lock (log)
        {
            return [.. log];
        }
    }

    /// <summary>A list-watch that streams one page item by item and then holds its watch open until cancelled.</summary>
    private sealed class StreamingSource(List<string> log, TestPod[] items) : IStreamingListWatch<TestPod>
    {
        public int PageCalls { get; private set; }

        public ValueTask<(string ResourceVersion, string? Continue, long? Remaining)> ListEachAsync(ListOptions options, Action<TestPod> onItem, CancellationToken cancellationToken)
        {
            foreach (var item in items)
            {
                lock (log)
                {
                    log.Add("decoded " + item.Metadata!.Name);
                }

                onItem(item);
            }

            return ValueTask.FromResult<(string, string?, long?)>(("10", null, null));
        }

        public ValueTask<ListPage<TestPod>> ListAsync(ListOptions options, CancellationToken cancellationToken = default)
        {
            PageCalls++;
            return ValueTask.FromResult(FakeListWatch.Page("10", items));
        }

        public IAsyncEnumerable<WatchEvent<TestPod>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default) => HoldOpenAsync(cancellationToken);

        private static async IAsyncEnumerable<WatchEvent<TestPod>> HoldOpenAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }
    }
}
