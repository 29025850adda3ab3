using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Testing;

/// <summary>Patch formats accepted by <see cref="ApiObjectStore.Patch"/> (and by PATCH over HTTP).</summary>
public enum ApiPatchType
{
    /// <summary>RFC 7386 JSON merge patch (<c>application/merge-patch+json</c>).</summary>
    Merge,

    /// <summary>Kubernetes strategic merge patch (<c>application/strategic-merge-patch+json</c>): merge patch plus <c>$patch</c>, <c>$retainKeys</c>, <c>$deleteFromPrimitiveList</c> directives and merge-by-key for the common lists.</summary>
    StrategicMerge,

    /// <summary>RFC 6902 JSON patch (<c>application/json-patch+json</c>).</summary>
    Json,
}

/// <summary>The result of <see cref="ApiObjectStore.List"/>: the list resourceVersion and the items (each with <c>kind</c> and <c>apiVersion</c>).</summary>
/// <param name="ResourceVersion">The revision of the snapshot.</param>
/// <param name="Items">The matching objects in storage key order.</param>
public sealed record ApiObjectList(string ResourceVersion, IReadOnlyList<JsonObject> Items);

/// <summary>
/// Server-side access to the objects of an <see cref="EmbeddedApiServer"/> without HTTP, for tests and simulators
/// (a fake kubelet or controller). Same semantics and validation as the HTTP path: every write gets the next
/// global resourceVersion and is seen by watchers. Failures throw <see cref="ApiServerStatusException"/> with the
/// Status kube-apiserver would send. Objects passed in are not modified; returned objects are fresh copies.
/// </summary>
public sealed class ApiObjectStore
{
    private readonly ApiStore _store;

    internal ApiObjectStore(ApiStore store) => _store = store;

    private const string DefaultManager = "embedded-apiserver";

    /// <summary>Creates an object (POST). Namespaced objects need <c>metadata.namespace</c>; <c>generateName</c> works as over HTTP.</summary>
    /// <param name="resource">A registered resource.</param>
    /// <param name="obj">The object; <c>kind</c>/<c>apiVersion</c> may be omitted.</param>
    /// <param name="fieldManager">Field manager recorded in managedFields.</param>
    /// <returns>The stored object with uid, creationTimestamp and resourceVersion.</returns>
    public JsonObject Create(ApiResourceDefinition resource, JsonObject obj, string? fieldManager = null)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var state = _store.Require(resource);
        var copy = Checked(state, obj);
        return _store.Create(state, copy, new WriteOptions(fieldManager ?? DefaultManager)).ToNode();
    }

    /// <summary>Reads an object (GET), or <see langword="null"/> when it does not exist.</summary>
    /// <param name="resource">A registered resource.</param>
    /// <param name="namespace">Namespace (null for cluster-scoped resources).</param>
    /// <param name="name">Object name.</param>
    public JsonObject? Get(ApiResourceDefinition resource, string? @namespace, string name)
    {
        var state = _store.Require(resource);
        return state.Get(StoredObject.MakeKey(resource.Namespaced ? @namespace ?? "" : "", name))?.ToNode();
    }

    /// <summary>Lists objects (consistent, current), optionally in one namespace and filtered by selectors.</summary>
    /// <param name="resource">A registered resource.</param>
    /// <param name="namespace">Namespace, or null for all.</param>
    /// <param name="labelSelector">Label selector in Kubernetes syntax.</param>
    /// <param name="fieldSelector">Field selector (<c>metadata.name</c>, <c>metadata.namespace</c> and the resource's selectable fields).</param>
    public ApiObjectList List(ApiResourceDefinition resource, string? @namespace = null, string? labelSelector = null, string? fieldSelector = null)
    {
        var state = _store.Require(resource);
        ApiServer.LabelSelector labels;
        FieldSelector fields;
        try
        {
            labels = ApiServer.LabelSelector.Parse(labelSelector);
            fields = FieldSelector.Parse(fieldSelector, resource);
        }
        catch (FormatException e)
        {
            throw StatusErrors.BadRequest(e.Message);
        }

        var (items, rv) = _store.Current(state);
        var result = items
            .Where(o => (@namespace is null || o.Namespace == @namespace) && labels.Matches(o.Labels) && fields.Matches(o))
            .Select(o => o.ToNode())
            .ToList();
        return new ApiObjectList(rv.ToString(CultureInfo.InvariantCulture), result);
    }

    /// <summary>Replaces an object (PUT). A non-empty <c>metadata.resourceVersion</c> must match (else 409 Conflict); <c>status</c> is ignored when the resource has a status subresource.</summary>
    /// <param name="resource">A registered resource.</param>
    /// <param name="obj">The full object with <c>metadata.name</c> (and namespace).</param>
    /// <param name="fieldManager">Field manager recorded in managedFields.</param>
    public JsonObject Update(ApiResourceDefinition resource, JsonObject obj, string? fieldManager = null)
        => Replace(resource, obj, fieldManager, Subresource.None);

    /// <summary>Replaces only <c>status</c> (PUT <c>/status</c>); everything else in <paramref name="obj"/> is ignored.</summary>
    /// <param name="resource">A registered resource with a status subresource.</param>
    /// <param name="obj">The object with the new status.</param>
    /// <param name="fieldManager">Field manager recorded in managedFields.</param>
    public JsonObject UpdateStatus(ApiResourceDefinition resource, JsonObject obj, string? fieldManager = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (!resource.HasStatusSubresource)
        {
            throw StatusErrors.NotFoundResource();
        }

        return Replace(resource, obj, fieldManager, Subresource.Status);
    }

    private JsonObject Replace(ApiResourceDefinition resource, JsonObject obj, string? fieldManager, Subresource sub)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var state = _store.Require(resource);
        var copy = Checked(state, obj);
        var meta = Meta.Metadata(copy);
        var name = Meta.GetString(meta, "name") ?? throw StatusErrors.BadRequest("the name of the object () does not match the name on the URL ()");
        var ns = resource.Namespaced ? Meta.GetString(meta, "namespace") ?? "" : "";
        return _store.Mutate(state, ns, name, _ => copy, new WriteOptions(fieldManager ?? DefaultManager), sub).ToNode();
    }

    /// <summary>Patches an object (PATCH), optionally its <c>/status</c>.</summary>
    /// <param name="resource">A registered resource.</param>
    /// <param name="namespace">Namespace (null for cluster-scoped resources).</param>
    /// <param name="name">Object name.</param>
    /// <param name="patch">The patch document as JSON text.</param>
    /// <param name="type">Patch format.</param>
    /// <param name="status">Whether to patch the status subresource.</param>
    /// <param name="fieldManager">Field manager recorded in managedFields.</param>
    public JsonObject Patch(ApiResourceDefinition resource, string? @namespace, string name, string patch, ApiPatchType type = ApiPatchType.Merge, bool status = false, string? fieldManager = null)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var state = _store.Require(resource);
        var body = Encoding.UTF8.GetBytes(patch);
        Func<JsonObject, JsonObject> apply;
        if (type == ApiPatchType.Json)
        {
            JsonArray operations;
            try
            {
                operations = JsonNode.Parse(body) as JsonArray ?? throw StatusErrors.BadRequest("error decoding patch: json: cannot unmarshal object into Go value of type jsonpatch.Patch");
            }
            catch (System.Text.Json.JsonException e)
            {
                throw StatusErrors.BadRequest("error decoding patch: " + e.Message);
            }

            apply = cur =>
            {
                try
                {
                    return Patches.ApplyJsonPatch(cur, (JsonArray)operations.DeepClone()) as JsonObject ?? throw new InvalidOperationException("the patch produced a non-object");
                }
                catch (InvalidOperationException e)
                {
                    throw new ApiServerStatusException(422, "Invalid", e.Message, StatusErrors.BuildStatus(422, "Invalid", e.Message, null));
                }
            };
        }
        else
        {
            JsonObject parsed;
            try
            {
                parsed = GoJson.ParseObject(body);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidOperationException)
            {
                throw StatusErrors.BadRequest("error decoding patch: " + e.Message);
            }

            var strategic = type == ApiPatchType.StrategicMerge;
            apply = cur =>
            {
                var copy = (JsonObject)parsed.DeepClone();
                return strategic ? Patches.ApplyStrategicMergePatch(cur, copy) : Patches.ApplyMergePatch(cur, copy);
            };
        }

        var ns = resource.Namespaced ? @namespace ?? "" : "";
        return _store.Mutate(state, ns, name, apply, new WriteOptions(fieldManager ?? DefaultManager), status ? Subresource.Status : Subresource.None).ToNode();
    }

    /// <summary>
    /// Deletes an object (DELETE) with kube-apiserver's finalizer, graceful-deletion and garbage-collection rules.
    /// Returns the object as deleted (at its deletion resourceVersion), or — when finalizers keep it — with
    /// <c>deletionTimestamp</c> set; <see cref="Get"/> tells the two apart.
    /// </summary>
    /// <param name="resource">A registered resource.</param>
    /// <param name="namespace">Namespace (null for cluster-scoped resources).</param>
    /// <param name="name">Object name.</param>
    /// <param name="propagation">Propagation policy; default: the resource's <see cref="ApiResourceDefinition.DefaultPropagation"/>.</param>
    /// <param name="uidPrecondition">Required uid, or null.</param>
    /// <param name="resourceVersionPrecondition">Required resourceVersion, or null.</param>
    public JsonObject Delete(ApiResourceDefinition resource, string? @namespace, string name, ApiDeletionPropagation? propagation = null, string? uidPrecondition = null, string? resourceVersionPrecondition = null)
    {
        var state = _store.Require(resource);
        var ns = resource.Namespaced ? @namespace ?? "" : "";
        return _store.Delete(state, ns, name, new DeleteRequest(propagation, uidPrecondition, resourceVersionPrecondition)).Object.ToNode();
    }

    private static JsonObject Checked(ResourceState state, JsonObject obj)
    {
        var def = state.Definition;
        var copy = (JsonObject)obj.DeepClone();
        var kind = Meta.TryGetString(copy, "kind");
        var apiVersion = Meta.TryGetString(copy, "apiVersion");
        if ((!string.IsNullOrEmpty(kind) && kind != def.Kind) || (!string.IsNullOrEmpty(apiVersion) && apiVersion != def.ApiVersion))
        {
            throw StatusErrors.BadRequest($"{kind ?? def.Kind} in version \"{apiVersion ?? def.ApiVersion}\" cannot be handled as a {def.Kind}");
        }

        return copy;
    }
}
