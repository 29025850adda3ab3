using System.Collections.Concurrent;
using KubeConsistency.Consistency;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>
/// Wraps a controller's consistency store and checks the built-in invariant "EnsureReady never reports ready while a recorded
/// write is unobserved": it keeps its own record of every <c>WroteAt</c> and, whenever the wrapped store says ready, compares it
/// with the informers' store resource versions.
/// </summary>
internal sealed class ConsistencyObserver(IConsistencyStore inner, ScenarioCase scenario) : IConsistencyStore
{
    private readonly ConcurrentDictionary<NamespacedName, (string Uid, Dictionary<GroupResource, string> Written)> _written = new();

    public void WroteAt(NamespacedName owner, string ownerUid, GroupResource resource, string resourceVersion)
    {
        inner.WroteAt(owner, ownerUid, resource, resourceVersion);
        if (!KubeConsistency.ResourceVersion.IsWellFormed(resourceVersion))
        {
            return;
        }

        _written.AddOrUpdate(
            owner,
            _ => (ownerUid, new Dictionary<GroupResource, string> { [resource] = resourceVersion }),
            (_, current) =>
            {
                if (current.Uid != ownerUid)
                {
                    current = (ownerUid, []);
                }

                if (!current.Written.TryGetValue(resource, out var previous) || Newer(resourceVersion, previous))
                {
                    current.Written[resource] = resourceVersion;
                }

                return current;
            });
    }

    public ConsistencyError? EnsureReady(NamespacedName owner)
    {
        var result = inner.EnsureReady(owner);
        if (result is null && _written.TryRemove(owner, out var record))
        {
            foreach (var (resource, written) in record.Written)
            {
                if (scenario.StoreResourceVersionOf(resource) is { } read && KubeConsistency.ResourceVersion.TryCompare(read, written, out var c) && c < 0)
                {
                    scenario.Report($"EnsureReady({owner}) reported ready while its write to {resource} at {written} was unobserved (store at \"{read}\")", "EnsureReady never ready over an unobserved write");
                }
            }
        }

        return result;
    }

    public void Clear(NamespacedName owner, string ownerUid)
    {
        inner.Clear(owner, ownerUid);
        if (ownerUid.Length == 0 || (_written.TryGetValue(owner, out var record) && record.Uid == ownerUid))
        {
            _written.TryRemove(owner, out _);
        }
    }

    private static bool Newer(string a, string b) => KubeConsistency.ResourceVersion.TryCompare(a, b, out var c) && c > 0;
}
