using System.Collections.Concurrent;
using System.Threading.Channels;
using KubeConsistency.Cache;
using KubeConsistency.Cache.Advanced;
using KubeConsistency.Informers;
using KubeConsistency.Testing;

namespace KubeConsistency.Tests.Informers;

/// <summary>
/// One <see cref="Reflector{T}"/> over a <see cref="FakeListWatch"/>, a <see cref="RecordingQueue"/>, a
/// <see cref="FakeLogger"/> and a manual clock (watch timeout = minimum, backoff without jitter unless told).
/// </summary>
internal sealed class ReflectorRig : IAsyncDisposable
{
    public const string Name = "pods";

    private readonly CancellationTokenSource _stop = new();

    public ReflectorRig(
        bool useWatchList = false,
        Func<double>? random = null,
        TimeSpan? minWatchTimeout = null,
        TimeSpan? watchProgressTimeout = null,
        TimeSpan? requestProgressTimeout = null,
        TimeSpan resyncCheckPeriod = default,
        Func<bool>? shouldResync = null)
    {
        Reflector = new Reflector<TestPod>(new ReflectorOptions<TestPod>
        {
            Name = Name,
            ListWatch = Source,
            Queue = Queue,
            KeyFunction = ObjectKeys.MetaNamespaceKeyFunc<TestPod>(),
            Time = Time,
            Logger = Log,
            UseWatchList = useWatchList,
            Random = random ?? (() => 0.0),
            MinWatchTimeout = minWatchTimeout ?? TimeSpan.FromMinutes(5),
            WatchProgressTimeout = watchProgressTimeout ?? TimeSpan.FromMinutes(3),
            RequestProgressTimeout = requestProgressTimeout ?? TimeSpan.FromSeconds(60),
            ResyncCheckPeriod = resyncCheckPeriod,
            ShouldResync = shouldResync,
        });
        Run = Reflector.RunAsync(_stop.Token);
    }

    public ManualTimeProvider Time { get; } = new();

    public FakeListWatch Source { get; } = new();

    public RecordingQueue Queue { get; } = new();

    public FakeLogger Log { get; } = new();

    public Reflector<TestPod> Reflector { get; }

    public ReflectorStatistics Stats => Reflector.Statistics;

    public Task Run { get; }

    /// <summary>Answers the first LIST with <paramref name="rv"/>, consumes its <c>replace</c> and returns the watch that follows it.</summary>
    public async Task<WatchSession> ListThenWatchAsync(string rv, params TestPod[] items)
    {
        (await Source.NextListAsync()).Reply.SetResult(FakeListWatch.Page(rv, items));
        var watch = await Source.NextWatchAsync();
        Assert.StartsWith("replace ", await Queue.NextAsync());
        return watch;
    }

    /// <summary>Waits until a timer is due in exactly <paramref name="dueIn"/> (the reflector is now waiting on it).</summary>
    public Task TimerDueIn(TimeSpan dueIn) => Time.WaitForTimerDueInAsync(dueIn).WaitAsync(TimeSpan.FromSeconds(10));

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OutOfMemoryException)
        {
            // A test that makes the reflector fail fatally asserts that itself.
        }

        _stop.Dispose();
    }
}

/// <summary>An <see cref="IDeltaQueue{T}"/> that records each call the reflector makes (and can reject objects).</summary>
internal sealed class RecordingQueue : IDeltaQueue<TestPod>
{
    private readonly Channel<string> _calls = Channel.CreateUnbounded<string>();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>When it returns an exception for an added/updated/deleted object, the call throws it and records nothing.</summary>
    public Func<TestPod, Exception?>? Reject { get; set; }

    public bool IsClosed { get; private set; }

    public bool HasSynced => _synced.Task.IsCompleted;

    public Task Synced => _synced.Task;

    public int Count => 0;

    public void Add(TestPod obj) => Record("add", obj);

    public void Update(TestPod obj) => Record("update", obj);

    public void Delete(TestPod obj) => Record("delete", obj);

    public void Replace(IReadOnlyList<TestPod> items, string resourceVersion)
    {
        Record($"replace [{string.Join(",", items.Select(Key).Order(StringComparer.Ordinal))}]@{resourceVersion}");
        _synced.TrySetResult();
    }

    public void Resync() => Record("resync");

    public void Bookmark(string resourceVersion) => Record($"bookmark {resourceVersion}");

    public void Close() => IsClosed = true;

    public ValueTask<bool> PopAsync(PopProcessor<TestPod> process, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<bool> PopBatchAsync(BatchProcessor<TestPod> processBatch, PopProcessor<TestPod> processSingle, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public async Task<string> NextAsync() => await _calls.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    private static string Key(TestPod p) => $"{p.Metadata?.NamespaceProperty}/{p.Metadata?.Name}";

    private void Record(string verb, TestPod obj)
    {
        if (Reject?.Invoke(obj) is { } error)
        {
            throw error;
        }

        Record($"{verb} {Key(obj)}@{obj.Metadata?.ResourceVersion}");
    }

    private void Record(string call)
    {
        Calls.Enqueue(call);
        _calls.Writer.TryWrite(call);
    }
}
