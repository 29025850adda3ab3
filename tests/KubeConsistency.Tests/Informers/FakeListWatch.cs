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

    /// <summary>Every stream records on its <see cref="WatchSession"/> when the consumer disposes it (see <see cref="WatchSession.Disposed"/>).</summary>
    public IAsyncEnumerable<WatchEvent<TestPod>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default) =>
        NonBlocking ? new NonBlockingWatchStream<TestPod>(new DisposalTrackingStream(this, options, cancellationToken)) : new DisposalTrackingStream(this, options, cancellationToken);

    /// <summary>Hands out streams marked as never blocking, as our HTTP client's are (its events come from a channel, so they are).</summary>
    public bool NonBlocking { get; init; }

    private async IAsyncEnumerable<WatchEvent<TestPod>> StreamAsync(WatchOptions options, StrongBox<WatchSession?> opened, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        WatchCalls.Enqueue(options);
        var session = new WatchSession(options) { Token = cancellationToken };
        opened.Value = session;
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

    /// <summary>The watch stream handed out: the iterator itself, plus a record of its disposal on the session it opened.</summary>
    private sealed class DisposalTrackingStream(FakeListWatch owner, WatchOptions options, CancellationToken cancellationToken) : IAsyncEnumerable<WatchEvent<TestPod>>
    {
        public IAsyncEnumerator<WatchEvent<TestPod>> GetAsyncEnumerator(CancellationToken enumeratorCancellation = default)
        {
            var opened = new StrongBox<WatchSession?>();
            return new Enumerator(owner.StreamAsync(options, opened, cancellationToken).GetAsyncEnumerator(enumeratorCancellation), opened);
        }

        private sealed class Enumerator(IAsyncEnumerator<WatchEvent<TestPod>> inner, StrongBox<WatchSession?> opened) : IAsyncEnumerator<WatchEvent<TestPod>>
        {
            public WatchEvent<TestPod> Current => inner.Current;

            public ValueTask<bool> MoveNextAsync() => inner.MoveNextAsync();

            public async ValueTask DisposeAsync()
            {
                await inner.DisposeAsync();
                opened.Value?.MarkDisposed();
            }
        }
    }

    public static ListPage<TestPod> Page(string rv, IEnumerable<TestPod> items, string? continueToken = null) => new() { ResourceVersion = rv, Items = [.. items], Continue = continueToken };
}

public sealed class WatchSession(WatchOptions options)
{
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WatchOptions Options { get; } = options;

    /// <summary>The cancellation token the stream was opened with.</summary>
    public CancellationToken Token { get; internal init; }

    /// <summary>Completes when the consumer disposes the stream's enumerator (the HTTP response is released).</summary>
    public Task Disposed => _disposed.Task;

    public bool IsDisposed => _disposed.Task.IsCompleted;

    internal void MarkDisposed() => _disposed.TrySetResult();

    internal Channel<(WatchEvent<TestPod> Event, Exception? Error)> Events { get; } = Channel.CreateUnbounded<(WatchEvent<TestPod>, Exception?)>();

    public void Send(WatchEventType type, TestPod? pod, string rv, bool initialEventsEnd = false) => Events.Writer.TryWrite((new WatchEvent<TestPod>(type, pod, rv, initialEventsEnd), null));

    public void Added(TestPod pod) => Send(WatchEventType.Added, pod, pod.Metadata!.ResourceVersion!);

    public void Modified(TestPod pod) => Send(WatchEventType.Modified, pod, pod.Metadata!.ResourceVersion!);

    public void Deleted(TestPod pod) => Send(WatchEventType.Deleted, pod, pod.Metadata!.ResourceVersion!);

    public void Bookmark(string rv, bool initialEventsEnd = false) => Send(WatchEventType.Bookmark, null, rv, initialEventsEnd);

    public void Fail(Exception error) => Events.Writer.TryWrite((default, error));

    public void End() => Events.Writer.TryComplete();
}
