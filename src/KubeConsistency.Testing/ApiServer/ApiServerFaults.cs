using System.Collections.Concurrent;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Testing;

/// <summary>What a request to <see cref="EmbeddedApiServer"/> is about; given to <see cref="ApiServerFaults.FailNextRequests"/> filters.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">URL path.</param>
/// <param name="Verb">Kubernetes verb: <c>list</c>, <c>watch</c>, <c>get</c>, <c>create</c>, <c>update</c>, <c>patch</c>, <c>delete</c>, <c>deletecollection</c>; <c>get</c> for non-resource paths.</param>
/// <param name="Group">API group of the resource (empty for core or non-resource paths).</param>
/// <param name="Resource">Plural resource name; empty for non-resource paths (discovery, <c>/version</c>, OpenAPI).</param>
/// <param name="Namespace">Namespace of the request, if any.</param>
/// <param name="Name">Object name, if any.</param>
/// <param name="Subresource">Subresource (<c>status</c>, <c>scale</c>), if any.</param>
public sealed record ApiRequestInfo(string Method, string Path, string Verb, string Group, string Resource, string? Namespace, string? Name, string? Subresource)
{
    /// <summary>Whether the request addresses an API resource (not discovery, <c>/version</c> or OpenAPI).</summary>
    public bool IsResourceRequest => Resource.Length > 0;
}

/// <summary>
/// Run-time fault injection and request counters of an <see cref="EmbeddedApiServer"/>: lagging watches, dropped
/// watch streams, compaction (410 Expired), and failing requests (500/429/503/504 with Retry-After).
/// All members are thread-safe.
/// </summary>
public sealed class ApiServerFaults
{
    private readonly ApiStore _store;
    private readonly ConcurrentDictionary<(string Group, string Resource), TimeSpan> _delays = new();
    private readonly ConcurrentDictionary<(string Group, string Resource), long> _holds = new();
    private readonly ConcurrentDictionary<(string Group, string Resource), CancellationTokenSource> _ends = new();
    private readonly ConcurrentDictionary<(string Verb, string Group, string Resource), long> _requests = new();
    private readonly Lock _lock = new();
    private readonly List<FailureRule> _failures = [];
    private volatile DropRule[] _drops = [];
    private TaskCompletionSource _delayChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _watchersChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _droppedWatches;
    private int _delayedStreams;
    private long _injectedFailures;

    internal ApiServerFaults(ApiStore store) => _store = store;

    private sealed record FailureRule(int StatusCode, TimeSpan? RetryAfter, Func<ApiRequestInfo, bool> Filter)
    {
        public int Remaining { get; set; }
    }

    private sealed record DropRule(int Events, string? Group, string? Resource);

    /// <summary>
    /// Makes every watch event of a resource reach its watchers <paramref name="delay"/> after it was committed
    /// (order kept; bookmarks never overtake delayed events), measured with the server's <see cref="TimeProvider"/>.
    /// This is what makes informer caches stale in tests. <see cref="TimeSpan.Zero"/> clears the delay.
    /// </summary>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    /// <param name="delay">Delay; zero clears it.</param>
    public void SetWatchDelay(string group, string resource, TimeSpan delay)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        if (delay == TimeSpan.Zero)
        {
            _delays.TryRemove((group, resource), out _);
        }
        else
        {
            _delays[(group, resource)] = delay;
        }

        SignalDelayChanged();
    }

    /// <summary>
    /// Holds back every live watch event of a resource with a resource version above <paramref name="releasedThrough"/> (in
    /// order; no bookmark overtakes a held event) until <see cref="ReleaseWatchEvents"/> lets it through: delivery exactly
    /// when a test says, what the scenario runner's deliveries become over HTTP. Lists and watch-list initial events are not held.
    /// </summary>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    /// <param name="releasedThrough">Events up to this resource version flow; later ones wait.</param>
    public void HoldWatchEvents(string group, string resource, long releasedThrough)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(resource);
        _holds[(group, resource)] = releasedThrough;
        SignalDelayChanged();
    }

    /// <summary>Lets a held resource's events through up to <paramref name="through"/> (never moves the release point back).</summary>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    /// <param name="through">The newest resource version to deliver.</param>
    /// <exception cref="InvalidOperationException">The resource's events are not held.</exception>
    public void ReleaseWatchEvents(string group, string resource, long through)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(resource);
        if (!_holds.ContainsKey((group, resource)))
        {
            throw new InvalidOperationException($"The watch events of {resource}{(group.Length == 0 ? "" : "." + group)} are not held.");
        }

        _holds.AddOrUpdate((group, resource), through, (_, current) => Math.Max(current, through));
        SignalDelayChanged();
    }

    /// <summary>Stops holding a resource's events: everything held flows.</summary>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    public void ClearWatchHold(string group, string resource)
    {
        _holds.TryRemove((group, resource), out _);
        SignalDelayChanged();
    }

    /// <summary>
    /// Ends every open watch stream of a resource now, cleanly (the chunked body ends without an ERROR event, as on a
    /// server-side timeout); clients re-watch from their last resource version.
    /// </summary>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    public void EndWatches(string group, string resource)
    {
        if (_ends.TryRemove((group, resource), out var cts))
        {
            cts.Cancel();
            cts.Dispose();
        }
    }

    /// <summary>Cancelled by the next <see cref="EndWatches"/> of the resource: each stream links its loop to it.</summary>
    internal CancellationToken EndToken(string group, string resource) => _ends.GetOrAdd((group, resource), static _ => new CancellationTokenSource()).Token;

    /// <summary>The release point of a held resource, or null when its events are not held.</summary>
    internal long? ReleasedThrough(string group, string resource) => _holds.TryGetValue((group, resource), out var rv) ? rv : null;

    private void SignalDelayChanged() => Pulse(ref _delayChanged);

    /// <summary>Completes the waiters of <paramref name="signal"/> and gives later waiters a fresh one.</summary>
    private void Pulse(ref TaskCompletionSource signal)
    {
        TaskCompletionSource old;
        lock (_lock)
        {
            old = signal;
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        old.TrySetResult();
    }

    /// <summary>The current watch delay of a resource (zero when none).</summary>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    public TimeSpan GetWatchDelay(string group, string resource) => _delays.GetValueOrDefault((group, resource));

    /// <summary>
    /// Ends watch streams (open ones and future ones, until <see cref="ClearWatchDrops"/>) after they delivered
    /// <paramref name="events"/> events each (bookmarks not counted): a clean end of the chunked body without an
    /// ERROR event, like a server-side timeout. Null group/resource match every resource.
    /// </summary>
    /// <param name="events">Events per stream before it ends (at least 1).</param>
    /// <param name="group">API group to restrict to, or null.</param>
    /// <param name="resource">Plural resource to restrict to, or null.</param>
    public void DropWatchesAfter(int events, string? group = null, string? resource = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 1);
        lock (_lock)
        {
            _drops = [.. _drops, new DropRule(events, group, resource)];
        }
    }

    /// <summary>Removes every <see cref="DropWatchesAfter"/> rule.</summary>
    public void ClearWatchDrops()
    {
        lock (_lock)
        {
            _drops = [];
        }
    }

    /// <summary>
    /// Compacts the history to the current revision, like etcd compaction: watches, Exact lists and continue
    /// tokens at older revisions get 410 Expired (watches as an ERROR event). Returns the compacted revision.
    /// </summary>
    public string CompactHistory() => _store.Compact().ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Fails the next <paramref name="count"/> matching requests with a kube-apiserver <c>Status</c>:
    /// 500 InternalError, 429 TooManyRequests, 503 ServiceUnavailable, 504 Timeout or 409 Conflict (other codes get a
    /// generic Status), with a <c>Retry-After</c> header when <paramref name="retryAfter"/> is given (always for 429).
    /// Without a filter only resource requests match (discovery, <c>/version</c> and OpenAPI are never failed).
    /// </summary>
    /// <param name="count">Number of requests to fail.</param>
    /// <param name="statusCode">HTTP status code.</param>
    /// <param name="retryAfter">Value of the Retry-After header (whole seconds, rounded up).</param>
    /// <param name="filter">Which requests count; default: every resource request.</param>
    public void FailNextRequests(int count, int statusCode = 500, TimeSpan? retryAfter = null, Func<ApiRequestInfo, bool>? filter = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 400);
        lock (_lock)
        {
            _failures.Add(new FailureRule(statusCode, retryAfter, filter ?? (static r => r.IsResourceRequest)) { Remaining = count });
        }
    }

    /// <summary>Cancels every pending <see cref="FailNextRequests"/> rule.</summary>
    public void ClearFailures()
    {
        lock (_lock)
        {
            _failures.Clear();
        }
    }

    /// <summary>Number of requests served for a verb and resource (failed ones included).</summary>
    /// <param name="verb">Kubernetes verb such as <c>list</c> or <c>watch</c>.</param>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    public long GetRequestCount(string verb, string group, string resource) => _requests.GetValueOrDefault((verb, group, resource));

    /// <summary>Number of watch streams of a resource that are open now.</summary>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    public int GetOpenWatchCount(string group, string resource)
        => _store.Find(group, resource) is { } s ? _store.WatcherCount(s) : 0;

    /// <summary>Watch streams ended by <see cref="DropWatchesAfter"/>.</summary>
    public long DroppedWatchCount => Interlocked.Read(ref _droppedWatches);

    /// <summary>Requests failed by <see cref="FailNextRequests"/>.</summary>
    public long InjectedFailureCount => Interlocked.Read(ref _injectedFailures);

    /// <summary>Number of watch streams that are holding back an event right now because of <see cref="SetWatchDelay"/>.</summary>
    public int DelayedWatchStreamCount => Volatile.Read(ref _delayedStreams);

    /// <summary>Completes when at least <paramref name="count"/> watch streams hold back an event because of <see cref="SetWatchDelay"/> (their clients provably have not received it).</summary>
    /// <param name="count">Number of delayed streams to wait for.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task WaitForDelayedWatchStreamsAsync(int count = 1, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                changed = _watchersChanged.Task;
            }

            if (DelayedWatchStreamCount >= count)
            {
                return;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Completes when at least <paramref name="count"/> watch streams of the resource are open (established and registered).</summary>
    /// <param name="group">API group ("" for core).</param>
    /// <param name="resource">Plural resource name.</param>
    /// <param name="count">Number of open watches to wait for.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public async Task WaitForOpenWatchesAsync(string group, string resource, int count = 1, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                changed = _watchersChanged.Task;
            }

            if (GetOpenWatchCount(group, resource) >= count)
            {
                return;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ internal hooks

    internal void CountRequest(ApiRequestInfo info) => _requests.AddOrUpdate((info.Verb, info.Group, info.Resource), 1, static (_, v) => v + 1);

    internal ApiServerStatusException? TryInjectFailure(ApiRequestInfo info)
    {
        lock (_lock)
        {
            for (var i = 0; i < _failures.Count; i++)
            {
                var rule = _failures[i];
                if (!rule.Filter(info))
                {
                    continue;
                }

                if (--rule.Remaining <= 0)
                {
                    _failures.RemoveAt(i);
                }

                Interlocked.Increment(ref _injectedFailures);
                return StatusErrors.Injected(rule.StatusCode, rule.RetryAfter);
            }
        }

        return null;
    }

    internal int? WatchDropLimit(string group, string resource)
    {
        int? limit = null;
        foreach (var rule in _drops)
        {
            if ((rule.Group is null || rule.Group == group) && (rule.Resource is null || rule.Resource == resource))
            {
                limit = limit is null ? rule.Events : Math.Min(limit.Value, rule.Events);
            }
        }

        return limit;
    }

    internal void DelayedStreamChanged(int delta)
    {
        Interlocked.Add(ref _delayedStreams, delta);
        WatchersChanged();
    }

    internal void RecordDroppedWatch() => Interlocked.Increment(ref _droppedWatches);

    internal Task DelayChanged
    {
        get
        {
            lock (_lock)
            {
                return _delayChanged.Task;
            }
        }
    }

    internal void WatchersChanged() => Pulse(ref _watchersChanged);
}
