using System.Text.Json.Nodes;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Testing.Scenarios;

/// <summary>The server side of one scenario case: the embedded server's store, scoped to the case's own namespace.</summary>
public sealed class ScenarioCluster
{
    internal ScenarioCluster(EmbeddedApiServer server, string @namespace)
    {
        Server = server;
        Namespace = @namespace;
    }

    /// <summary>The server.</summary>
    public EmbeddedApiServer Server { get; }

    /// <summary>The case's namespace: every namespaced object of the case lives there.</summary>
    public string Namespace { get; }

    /// <summary>The server's store (writes here are "other clients").</summary>
    public ApiObjectStore Objects => Server.Objects;

    /// <summary>The objects of <paramref name="resource"/> in the case's namespace, as the server has them now.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="labelSelector">An optional label selector.</param>
    public IReadOnlyList<JsonObject> List(ApiResourceDefinition resource, string? labelSelector = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return Objects.List(resource, NamespaceFor(resource), labelSelector).Items;
    }

    /// <summary>One object of <paramref name="resource"/> in the case's namespace, or <see langword="null"/>.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="name">The name.</param>
    public JsonObject? Get(ApiResourceDefinition resource, string name)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return Objects.Get(resource, NamespaceFor(resource), name);
    }

    internal string? NamespaceFor(ApiResourceDefinition resource) => resource.Namespaced ? Namespace : null;

    internal JsonObject InNamespace(ApiResourceDefinition resource, JsonObject template)
    {
        var obj = (JsonObject)template.DeepClone();
        if (resource.Namespaced && obj["metadata"] is JsonObject meta)
        {
            meta["namespace"] = Namespace;
        }

        return obj;
    }
}
