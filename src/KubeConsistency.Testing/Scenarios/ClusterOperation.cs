using System.Text.Json.Nodes;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>
/// A write made by another client during a scenario (a user scaling, a kubelet finishing a pod, an eviction…), applied
/// straight to the <see cref="EmbeddedApiServer"/>'s store in the scenario's namespace. An operation whose target is missing
/// or already exists is a no-op (it says so in the trace): generated histories need not track what exists.
/// </summary>
public sealed class ClusterOperation
{
    private readonly Func<ScenarioCluster, string?> _apply;

    private ClusterOperation(string description, Func<ScenarioCluster, string?> apply)
    {
        ArgumentException.ThrowIfNullOrEmpty(description);
        Description = description;
        _apply = apply;
    }

    /// <summary>What the operation does, as printed in schedules.</summary>
    public string Description { get; }

    /// <summary>Creates <paramref name="obj"/> (its namespace becomes the scenario's).</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="obj">The object; copied at each application.</param>
    /// <param name="description">How to print it; defaults to <c>create &lt;plural&gt;/&lt;name&gt;</c>.</param>
    public static ClusterOperation Create(ApiResourceDefinition resource, JsonObject obj, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(obj);
        var template = (JsonObject)obj.DeepClone();
        return new(description ?? $"create {resource.Plural}/{NameOf(template)}", c =>
        {
            c.Objects.Create(resource, c.InNamespace(resource, template));
            return null;
        });
    }

    /// <summary>Applies a JSON merge patch to the object named <paramref name="name"/> (or its status).</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="name">The object's name.</param>
    /// <param name="mergePatch">The merge patch.</param>
    /// <param name="status">Patch the status subresource.</param>
    /// <param name="description">How to print it; defaults to <c>patch &lt;plural&gt;/&lt;name&gt; &lt;patch&gt;</c>.</param>
    public static ClusterOperation Patch(ApiResourceDefinition resource, string name, JsonObject mergePatch, bool status = false, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(mergePatch);
        var patch = mergePatch.ToJsonString();
        return new(description ?? $"patch {resource.Plural}/{name}{(status ? "/status" : "")} {patch}", c =>
        {
            c.Objects.Patch(resource, c.NamespaceFor(resource), name, patch, ApiPatchType.Merge, status);
            return null;
        });
    }

    /// <summary>Deletes the object named <paramref name="name"/>.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="name">The object's name.</param>
    /// <param name="description">How to print it; defaults to <c>delete &lt;plural&gt;/&lt;name&gt;</c>.</param>
    public static ClusterOperation Delete(ApiResourceDefinition resource, string name, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new(description ?? $"delete {resource.Plural}/{name}", c =>
        {
            c.Objects.Delete(resource, c.NamespaceFor(resource), name);
            return null;
        });
    }

    /// <summary>Deletes the object with <paramref name="obj"/>'s name if it exists, then creates <paramref name="obj"/>: same name, new UID.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="obj">The object to create.</param>
    /// <param name="description">How to print it; defaults to <c>recreate &lt;plural&gt;/&lt;name&gt;</c>.</param>
    public static ClusterOperation Recreate(ApiResourceDefinition resource, JsonObject obj, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(obj);
        var template = (JsonObject)obj.DeepClone();
        var name = NameOf(template);
        return new(description ?? $"recreate {resource.Plural}/{name} (new UID)", c =>
        {
            if (c.Objects.Get(resource, c.NamespaceFor(resource), name) is not null)
            {
                c.Objects.Delete(resource, c.NamespaceFor(resource), name);
            }

            c.Objects.Create(resource, c.InNamespace(resource, template));
            return null;
        });
    }

    /// <summary>
    /// Anything else, e.g. "delete the oldest pod of rs-a" or "mark one running pod Succeeded". Return a note for the trace
    /// (e.g. <c>"no running pod"</c>) when it did nothing, else <see langword="null"/>.
    /// </summary>
    /// <param name="description">How to print it.</param>
    /// <param name="apply">Applies it.</param>
    public static ClusterOperation Custom(string description, Func<ScenarioCluster, string?> apply)
    {
        ArgumentNullException.ThrowIfNull(apply);
        return new(description, apply);
    }

    /// <summary>Applies the operation; returns a note when it did nothing (its target was missing or already there).</summary>
    /// <param name="cluster">The scenario's cluster.</param>
    public string? Apply(ScenarioCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        try
        {
            return _apply(cluster);
        }
        catch (ApiServerStatusException ex) when (ex.StatusCode is 404 or 409)
        {
            return "no-op: " + ex.Message;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Description;

    private static string NameOf(JsonObject obj) =>
        obj["metadata"]?["name"]?.GetValue<string>() ?? throw new ArgumentException("The object needs metadata.name.", nameof(obj));
}
