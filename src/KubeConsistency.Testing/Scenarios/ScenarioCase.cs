using System.Collections.Concurrent;
using System.Globalization;
using KubeConsistency.Controllers;
using KubeConsistency.Informers;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>The state of one running case: its namespace, clock, feeds, controller and what broke.</summary>
internal sealed class ScenarioCase
{
    private readonly ConcurrentQueue<ScenarioViolation> _violations = new();
    private readonly Dictionary<string, IScenarioFeed> _feeds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastStoreRv = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _step;

    public ScenarioCase(EmbeddedApiServer server, string @namespace, DateTimeOffset start)
    {
        Store = server.Store;
        Cluster = new ScenarioCluster(server, @namespace);
        Time = new ManualTimeProvider(start);
    }

    public ApiStore Store { get; }

    public ScenarioCluster Cluster { get; }

    public ManualTimeProvider Time { get; }

    public IReadOnlyCollection<IScenarioFeed> Feeds => _feeds.Values;

    public IController? Controller { get; set; }

    public int Step
    {
        get => Volatile.Read(ref _step);
        set => Volatile.Write(ref _step, value);
    }

    public IReadOnlyList<ScenarioViolation> Violations => [.. _violations];

    public void PullAll()
    {
        foreach (var feed in _feeds.Values)
        {
            feed.Pull();
        }
    }

    public void Add(IScenarioFeed feed) => _feeds.Add(feed.Definition.Name, feed);

    public IScenarioFeed Feed(string name) =>
        _feeds.TryGetValue(name, out var feed) ? feed : throw new ArgumentException($"The scenario has no informer named \"{name}\" (it has {string.Join(", ", _feeds.Keys)}).", nameof(name));

    public ISharedIndexInformer<T> Informer<T>(string name)
        where T : class =>
        Feed(name).Informer as ISharedIndexInformer<T> ?? throw new ArgumentException($"The informer \"{name}\" is not of {typeof(T).Name}.", nameof(name));

    public string? StoreResourceVersionOf(GroupResource resource) =>
        _feeds.Values.FirstOrDefault(f => f.Definition.GroupResource == resource)?.StoreResourceVersion;

    public void Report(string? message, string invariant = "informer delivery")
    {
        if (message is not null)
        {
            _violations.Enqueue(new ScenarioViolation(Step, invariant, message));
        }
    }

    /// <summary>Something happened that may end a wait for quiet (a watch opened or drained, a list was served).</summary>
    public void Signal() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>Nothing can happen without the next step: every feed is quiet and the controller has nothing queued or running.</summary>
    public bool IsQuiescent()
    {
        foreach (var feed in _feeds.Values)
        {
            if (!feed.IsQuiescent)
            {
                return false;
            }
        }

        return Controller?.Queue is not WorkQueueCore<string> queue || queue.CountsForTesting() is { Queued: 0, Processing: 0, Dirty: 0 };
    }

    public string Describe()
    {
        var queue = Controller?.Queue is WorkQueueCore<string> q ? q.CountsForTesting().ToString() : "none";
        return string.Join("; ", _feeds.Values.Select(f => f.Describe())) + "; controller queue " + queue;
    }

    /// <summary>The built-in "LastStoreSyncResourceVersion never decreases", checked after every step.</summary>
    public void CheckStoreResourceVersions()
    {
        foreach (var feed in _feeds.Values)
        {
            if (!long.TryParse(feed.StoreResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var rv))
            {
                continue;
            }

            if (_lastStoreRv.TryGetValue(feed.Definition.Name, out var last) && rv < last)
            {
                Report($"the {feed.Definition.Name} store went from {last} back to {rv}", "LastStoreSyncResourceVersion never decreases");
            }

            _lastStoreRv[feed.Definition.Name] = Math.Max(rv, last);
        }
    }
}
