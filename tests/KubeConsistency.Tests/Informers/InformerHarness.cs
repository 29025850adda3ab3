using System.Threading.Channels;
using KubeConsistency.Cache;
using KubeConsistency.Informers;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Informers;

/// <summary>Runs an informer over a <see cref="FakeListWatch"/> with a manual clock and zero jitter.</summary>
public sealed class InformerHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    public InformerHarness(Func<SharedIndexInformerOptions<TestPod>, SharedIndexInformerOptions<TestPod>>? configure = null, bool start = true)
    {
        var options = new SharedIndexInformerOptions<TestPod>
        {
            Resource = GroupVersionResource.Pods,
            TimeProvider = Time,
            Random = () => 0.0, // watch timeout = min, backoff without jitter
            UseWatchList = false,
            Indexers = new Dictionary<string, IndexFunc<TestPod>> { [Indexes.Namespace] = Indexes.ByNamespace<TestPod>() },
        };
        options = configure?.Invoke(options) ?? options;
        Informer = SharedIndexInformer.Create(Source, options);
        Informer.AddEventHandler(Events);
        if (start)
        {
            Start();
        }
    }

    public ManualTimeProvider Time { get; } = new();

    public FakeListWatch Source { get; } = new();

    public ISharedIndexInformer<TestPod> Informer { get; }

    public ChannelHandler Events { get; } = new();

    public Task? Run { get; private set; }

    public void Start() => Run = Informer.RunAsync(_stop.Token);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (Run is not null)
        {
            await Run.WaitAsync(TimeSpan.FromSeconds(10)); // clean shutdown, no leaked tasks
        }

        _stop.Dispose();
    }
}

/// <summary>A handler that publishes every call to a channel the test can await.</summary>
public sealed class ChannelHandler : IResourceEventHandler<TestPod>
{
    private readonly Channel<string> _events = Channel.CreateUnbounded<string>();

    public void OnAdd(TestPod obj, bool isInInitialList) => _events.Writer.TryWrite($"add {TestObjects.KeyOrPayload(obj)}@{obj.Metadata?.ResourceVersion}{(isInInitialList ? " initial" : "")}");

    public void OnUpdate(TestPod oldObj, TestPod newObj) => _events.Writer.TryWrite($"update {TestObjects.KeyOrPayload(newObj)} {oldObj.Metadata?.ResourceVersion}->{newObj.Metadata?.ResourceVersion}");

    public void OnDelete(object obj) => _events.Writer.TryWrite(obj switch
    {
        DeletedFinalStateUnknown<TestPod> t => $"delete-tombstone {t.Key}",
        TestPod p => $"delete {TestObjects.KeyOrPayload(p)}@{p.Metadata?.ResourceVersion}",
        _ => "delete ?",
    });

    public async Task<string> NextAsync() => await _events.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async Task<List<string>> NextAsync(int count)
    {
        var result = new List<string>();
        for (var i = 0; i < count; i++)
        {
            result.Add(await NextAsync());
        }

        return result;
    }

    public bool TryNext(out string? e) => _events.Reader.TryRead(out e);
}

/// <summary>A handler whose every callback signals <see cref="Entered"/> and then blocks until <see cref="Gate"/> is released (10 s at most).</summary>
internal sealed class BlockingHandler : IResourceEventHandler<TestPod>
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    public int Calls;

    public SemaphoreSlim Gate { get; } = new(0);

    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void OnAdd(TestPod obj, bool isInInitialList) => Block();

    public void OnUpdate(TestPod oldObj, TestPod newObj) => Block();

    public void OnDelete(object obj) => Block();

    private void Block()
    {
        Entered.TrySetResult();
        Gate.Wait(Guard);
        Interlocked.Increment(ref Calls);
    }
}
