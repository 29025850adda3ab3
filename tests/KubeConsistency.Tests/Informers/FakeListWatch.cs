using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using KubeConsistency.Client;

namespace KubeConsistency.Tests.Informers;

/// <summary>An in-memory list/watch source whose every response the test scripts.</summary>
public sealed class FakeListWatch : IListWatch<TestPod>
{
    private readonly Channel<WatchSession> _watches = Channel.CreateUnbounded<WatchSession>();
    private readonly Channel<(ListOptions Options, TaskCompletionSource<ListPage<TestPod>> Reply)> _lists = Channel.CreateUnbounded<(ListOptions, TaskCompletionSource<ListPage<TestPod>>)>();

    public ConcurrentQueue<ListOptions> ListCalls { get; } = new();

    public ConcurrentQueue<WatchOptions> WatchCalls { get; } = new();

    /// <summary>When set, lists are answered by this function instead of waiting for <see cref="NextListAsync"/>.</summary>
    public Func<ListOptions, ListPage<TestPod>>? AutoList { get; set; }

    public ValueTask<ListPage<TestPod>> ListAsync(ListOptions options, CancellationToken cancellationToken = default)
    {
        ListCalls.Enqueue(options);
        if (AutoList is { } auto)
        {
            return ValueTask.FromResult(auto(options));
        }

        var reply = new TaskCompletionSource<ListPage<TestPod>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _lists.Writer.TryWrite((options, reply));
        return new ValueTask<ListPage<TestPod>>(reply.Task.WaitAsync(cancellationToken));
    }

    public async IAsyncEnumerable<WatchEvent<TestPod>> WatchAsync(WatchOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        WatchCalls.Enqueue(options);
        var session = new WatchSession(options);
        _watches.Writer.TryWrite(session);
        await foreach (var item in session.Events.Reader.ReadAllAsync(cancellationToken))
        {
            if (item.Error is not null)
            {
                throw item.Error;
            }

            yield return item.Event;
        }
    }

    public async Task<(ListOptions Options, TaskCompletionSource<ListPage<TestPod>> Reply)> NextListAsync() => await _lists.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async Task<WatchSession> NextWatchAsync() => await _watches.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public static ListPage<TestPod> Page(string rv, IEnumerable<TestPod> items, string? continueToken = null) => new() { ResourceVersion = rv, Items = [.. items], Continue = continueToken };
}

public sealed class WatchSession(WatchOptions options)
{
    public WatchOptions Options { get; } = options;

    internal Channel<(WatchEvent<TestPod> Event, Exception? Error)> Events { get; } = Channel.CreateUnbounded<(WatchEvent<TestPod>, Exception?)>();

    public void Send(WatchEventType type, TestPod? pod, string rv, bool initialEventsEnd = false) => Events.Writer.TryWrite((new WatchEvent<TestPod>(type, pod, rv, initialEventsEnd), null));

    public void Added(TestPod pod) => Send(WatchEventType.Added, pod, pod.Metadata!.ResourceVersion!);

    public void Modified(TestPod pod) => Send(WatchEventType.Modified, pod, pod.Metadata!.ResourceVersion!);

    public void Deleted(TestPod pod) => Send(WatchEventType.Deleted, pod, pod.Metadata!.ResourceVersion!);

    public void Bookmark(string rv, bool initialEventsEnd = false) => Send(WatchEventType.Bookmark, null, rv, initialEventsEnd);

    public void Fail(Exception error) => Events.Writer.TryWrite((default, error));

    public void End() => Events.Writer.TryComplete();
}
