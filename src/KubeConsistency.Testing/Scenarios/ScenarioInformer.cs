using System.Text;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>
/// An informer the scenario runner creates for each case and feeds straight from the embedded server's history, as the
/// schedule says (no HTTP: the schedule, not the network, decides what the informer sees and when).
/// </summary>
public abstract class ScenarioInformer
{
    private protected ScenarioInformer(string name, ApiResourceDefinition resource)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(resource);
        Name = name;
        Resource = resource;
    }

    /// <summary>The informer's name in schedules (e.g. <c>pods</c>).</summary>
    public string Name { get; }

    /// <summary>The resource it lists and watches.</summary>
    public ApiResourceDefinition Resource { get; }

    /// <summary>Its group-resource, as recorded by <c>WroteAt</c>.</summary>
    public GroupResource GroupResource => new(Resource.Group, Resource.Plural);

    /// <summary>Defines an informer of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The object type (a KubernetesClient model, a POCO…).</typeparam>
    /// <param name="name">Its name in schedules.</param>
    /// <param name="resource">The resource.</param>
    /// <param name="decode">Turns one object's JSON into a <typeparamref name="T"/> (e.g. <c>KubernetesJson.Deserialize&lt;V1Pod&gt;</c>).</param>
    /// <param name="configure">
    /// Adjusts the informer's options (indexers, metadata accessor, transform…). The runner sets the clock, the backoff and
    /// watch-list from the schedule afterwards.
    /// </param>
    /// <param name="overHttp">
    /// For runners with <see cref="ScenarioRunnerOptions.OverHttp"/>: the list-watch of the resource in a namespace over the
    /// embedded server's HTTP API (e.g. <c>ns =&gt; kubernetes.Resource&lt;V1Pod&gt;(new KubernetesResourceOptions { Namespace = ns })</c>).
    /// </param>
    public static ScenarioInformer For<T>(string name, ApiResourceDefinition resource, Func<string, T> decode, Func<SharedIndexInformerOptions<T>, SharedIndexInformerOptions<T>>? configure = null, Func<string, IListWatch<T>>? overHttp = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(decode);
        return new Typed<T>(name, resource, decode, configure, overHttp);
    }

    /// <summary>Whether the informer can list and watch over HTTP.</summary>
    public abstract bool SupportsHttp { get; }

    internal abstract IScenarioFeed CreateFeed(ScenarioCase scenario, bool useWatchList, bool overHttp);

    private sealed class Typed<T>(string name, ApiResourceDefinition resource, Func<string, T> decode, Func<SharedIndexInformerOptions<T>, SharedIndexInformerOptions<T>>? configure, Func<string, IListWatch<T>>? overHttp)
        : ScenarioInformer(name, resource)
        where T : class
    {
        public override bool SupportsHttp => overHttp is not null;

        internal override IScenarioFeed CreateFeed(ScenarioCase scenario, bool useWatchList, bool http)
        {
            var options = new SharedIndexInformerOptions<T> { Name = Name, Resource = new GroupVersionResource(Resource.Group, Resource.Version, Resource.Plural) };
            options = configure?.Invoke(options) ?? options;

            // The informer's own timers run on the real clock, shortened: a reconnect after a 410 takes a millisecond, and the
            // runner waits for it explicitly (the watch re-opened) rather than for a time. Progress bounds stay far away.
            options = options with
            {
                TimeProvider = TimeProvider.System,
                UseWatchList = useWatchList,
                InitialBackoff = TimeSpan.FromMilliseconds(1),
                MaxBackoff = TimeSpan.FromMilliseconds(1),
                Random = static () => 0,
                DefaultResyncPeriod = TimeSpan.Zero,
                RequestProgressTimeout = TimeSpan.FromMinutes(10),
                WatchProgressTimeout = TimeSpan.FromMinutes(30),
            };
            var listWatch = http ? overHttp!(scenario.Cluster.Namespace) : null;
            return new ScenarioFeed<T>(this, scenario, json => decode(Encoding.UTF8.GetString(json)), options, listWatch);
        }
    }
}
