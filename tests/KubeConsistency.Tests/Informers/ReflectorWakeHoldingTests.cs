using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Informers;

/// <summary>
/// The reflector holds consumer wake-ups only for streams that promise never to block (docs/compatibility.md,
/// "Consumer wake-ups"), and releases them before it waits: no event is ever left queued behind a wait.
/// </summary>
public sealed class ReflectorWakeHoldingTests
{
    [Fact]
    public async Task NonBlockingStream_EveryEventOfABurstIsDelivered_WhileTheStreamWaits()
    {
        var source = new FakeListWatch { NonBlocking = true, AutoList = _ => FakeListWatch.Page("1", []) };
        await using var informer = new InformerOver(source);
        var watch = await source.NextWatchAsync();
        var rv = 1;

        // Short bursts to an idle (waiting) consumer, then one past the cap twice; after each the stream waits, and
        // every event must reach the handler anyway.
        foreach (var burst in (int[])[1, 3, 3, 3, 3, 3, (IConsumerWakeBatching.MaxHeld * 2) + 3])
        {
            var expected = new List<string>();
            for (var i = 0; i < burst; i++)
            {
                rv++;
                var name = "p" + rv.ToString(System.Globalization.CultureInfo.InvariantCulture);
                watch.Added(TestObjects.Pod("ns", name, rv.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                expected.Add($"add ns/{name}@{rv}");
            }

            Assert.Equal(expected, await informer.Events.NextAsync(burst));
        }
    }

    [Fact]
    public async Task UserStream_ThatBlocksInMoveNext_HasItsEventDeliveredMeanwhile()
    {
        using var gate = new ManualResetEventSlim();
        var source = new BlockingAfterOneEvent(gate);
        await using var informer = new InformerOver(source);

        // The event comes once the consumer has drained the initial list and waits, so that a held wake would matter.
        await informer.Informer.WaitForSyncAsync().WaitAsync(TimeSpan.FromSeconds(10));
        source.SendTheEvent();

        // The stream then blocks inside MoveNextAsync until the event is seen: held wakes would delay it past the wait.
        Assert.Equal("add ns/a@2", await informer.Events.NextAsync());
        gate.Set();
    }

    /// <summary>An informer over any source, with the harness's clock and handler.</summary>
    private sealed class InformerOver : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;

        public InformerOver(IListWatch<TestPod> source)
        {
            Informer = SharedIndexInformer.Create(source, new SharedIndexInformerOptions<TestPod>
            {
                Resource = GroupVersionResource.Pods,
                TimeProvider = new ManualTimeProvider(),
                Random = () => 0.0,
                UseWatchList = false,
            });
            Informer.AddEventHandler(Events);
            _run = Task.Run(() => Informer.RunAsync(_stop.Token));
        }

        public ISharedIndexInformer<TestPod> Informer { get; }

        public ChannelHandler Events { get; } = new();

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(TimeSpan.FromSeconds(10));
            _stop.Dispose();
        }
    }

    /// <summary>A user's stream (not marked non-blocking) that yields one event when told, then blocks its caller's thread.</summary>
    private sealed class BlockingAfterOneEvent(ManualResetEventSlim gate) : IListWatch<TestPod>
    {
        private readonly TaskCompletionSource<bool> _event = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void SendTheEvent() => _event.TrySetResult(true);

        public ValueTask<ListPage<TestPod>> ListAsync(ListOptions options, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(FakeListWatch.Page("1", []));

        public IAsyncEnumerable<WatchEvent<TestPod>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default) => new Stream(gate, _event.Task);

        private sealed class Stream(ManualResetEventSlim gate, Task<bool> theEvent) : IAsyncEnumerable<WatchEvent<TestPod>>, IAsyncEnumerator<WatchEvent<TestPod>>
        {
            private readonly TaskCompletionSource<bool> _never = new(TaskCreationOptions.RunContinuationsAsynchronously);
            private int _calls;
            private CancellationTokenRegistration _registration;

            public WatchEvent<TestPod> Current { get; private set; }

            public IAsyncEnumerator<WatchEvent<TestPod>> GetAsyncEnumerator(CancellationToken cancellationToken = default)
            {
                _registration = cancellationToken.Register(() => _never.TrySetCanceled(cancellationToken));
                return this;
            }

            public ValueTask<bool> MoveNextAsync()
            {
                if (++_calls == 1)
                {
                    Current = new WatchEvent<TestPod>(WatchEventType.Added, TestObjects.Pod("ns", "a", "2"), "2");
                    return new ValueTask<bool>(theEvent);
                }

                // Blocks (longer than the test waits for the event), then completes: a synchronous call that hid a wait.
                gate.Wait(TimeSpan.FromSeconds(30));
                return new ValueTask<bool>(_never.Task);
            }

            public ValueTask DisposeAsync()
            {
                _registration.Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
