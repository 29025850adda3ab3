using System.Text.Json.Nodes;

namespace KubeConsistency.Testing;

/// <summary>
/// One step of a server-side history for property tests: a write, or a fault that makes informers see an
/// adversarial ordering (dropped watches, compaction, lag, failing requests, a restart).
/// </summary>
public abstract record ServerStep;

/// <summary>Create the object, or update it when it exists.</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Name">The name.</param>
/// <param name="Labels">The labels to set.</param>
public sealed record UpsertStep(string Namespace, string Name, IReadOnlyDictionary<string, string> Labels) : ServerStep
{
    /// <inheritdoc/>
    public override string ToString() => $"Upsert {Namespace}/{Name} {{{string.Join(",", Labels.Select(kv => kv.Key + "=" + kv.Value))}}}";
}

/// <summary>Delete the object when it exists.</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Name">The name.</param>
public sealed record DeleteStep(string Namespace, string Name) : ServerStep
{
    /// <inheritdoc/>
    public override string ToString() => $"Delete {Namespace}/{Name}";
}

/// <summary>End every watch of the resource after <paramref name="AfterEvents"/> more events (replaces earlier drop rules).</summary>
/// <param name="AfterEvents">Events per watch before it is closed.</param>
public sealed record DropWatchesStep(int AfterEvents) : ServerStep;

/// <summary>Compact the history to the current revision: watches resumed from older versions get 410 Gone.</summary>
public sealed record CompactStep : ServerStep;

/// <summary>Deliver the resource's watch events <paramref name="Delay"/> late (zero clears the lag).</summary>
/// <param name="Delay">The lag.</param>
public sealed record LagStep(TimeSpan Delay) : ServerStep;

/// <summary>Fail the next <paramref name="Count"/> requests for the resource with <paramref name="StatusCode"/>.</summary>
/// <param name="Count">How many requests fail.</param>
/// <param name="StatusCode">500, 429, 503, 410 …</param>
public sealed record FailRequestsStep(int Count, int StatusCode) : ServerStep;

/// <summary>Stop and restart the server (connections break; history is compacted as on a real restart).</summary>
public sealed record RestartStep : ServerStep;

/// <summary>Runs <see cref="ServerStep"/>s against an <see cref="EmbeddedApiServer"/>.</summary>
public static class ServerStepExtensions
{
    /// <summary>Applies one step to the server for <paramref name="resource"/>.</summary>
    /// <param name="server">The server.</param>
    /// <param name="step">The step.</param>
    /// <param name="resource">The resource the writes and faults target (e.g. <see cref="ApiResourceDefinition.Pods"/>).</param>
    /// <param name="cancellationToken">Cancels a restart.</param>
    public static async Task ApplyAsync(this EmbeddedApiServer server, ServerStep step, ApiResourceDefinition resource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(resource);
        switch (step)
        {
            case UpsertStep u:
                var labels = new JsonObject(u.Labels.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
                if (server.Objects.Get(resource, u.Namespace, u.Name) is null)
                {
                    server.Objects.Create(resource, Minimal(resource, u.Namespace, u.Name, labels));
                }
                else
                {
                    server.Objects.Patch(resource, u.Namespace, u.Name, new JsonObject { ["metadata"] = new JsonObject { ["labels"] = labels } }.ToJsonString(), ApiPatchType.Merge);
                }

                break;
            case DeleteStep d:
                if (server.Objects.Get(resource, d.Namespace, d.Name) is not null)
                {
                    server.Objects.Delete(resource, d.Namespace, d.Name);
                }

                break;
            case DropWatchesStep drop:
                server.Faults.ClearWatchDrops();
                server.Faults.DropWatchesAfter(drop.AfterEvents, resource.Group, resource.Plural);
                break;
            case CompactStep:
                server.Faults.CompactHistory();
                break;
            case LagStep lag:
                server.Faults.SetWatchDelay(resource.Group, resource.Plural, lag.Delay);
                break;
            case FailRequestsStep fail:
                server.Faults.FailNextRequests(fail.Count, fail.StatusCode, filter: r => r.Group == resource.Group && r.Resource == resource.Plural);
                break;
            case RestartStep:
                await server.StopAsync(cancellationToken).ConfigureAwait(false);
                await server.RestartAsync(cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentException($"unknown step {step.GetType().Name}", nameof(step));
        }
    }

    /// <summary>Clears every fault a history may have left behind (drops, lag, pending failures).</summary>
    /// <param name="server">The server.</param>
    /// <param name="resource">The resource.</param>
    public static void ClearFaults(this EmbeddedApiServer server, ApiResourceDefinition resource)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(resource);
        server.Faults.ClearWatchDrops();
        server.Faults.ClearFailures();
        server.Faults.SetWatchDelay(resource.Group, resource.Plural, TimeSpan.Zero);
    }

    private static JsonObject Minimal(ApiResourceDefinition resource, string ns, string name, JsonObject labels)
    {
        var obj = new JsonObject
        {
            ["apiVersion"] = resource.ApiVersion,
            ["kind"] = resource.Kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = resource.Namespaced ? ns : null, ["labels"] = labels },
        };
        if (resource == ApiResourceDefinition.Pods)
        {
            obj["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "nginx:1.27" }) };
        }

        return obj;
    }
}
