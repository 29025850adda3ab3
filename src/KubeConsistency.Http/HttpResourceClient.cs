using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Http;

/// <summary>The JSON defaults used when a client is given neither a type info nor serializer options.</summary>
internal static class KubernetesJsonDefaults
{
    /// <summary>camelCase, case-insensitive reads, nulls omitted on write; reflection-based.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

/// <summary>
/// <see cref="IResourceClient{T}"/> over HTTP/JSON: lists are decoded from the response stream item by item,
/// watches line by line; writes send and return whole objects.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
internal sealed class HttpResourceClient<T> : IResourceClient<T>, IStreamingListWatch<T>
{
    private const string JsonContentType = "application/json";
    private const string MergePatchContentType = "application/merge-patch+json";

    private readonly ApiTransport _transport;
    private readonly ResourceClientOptions<T> _options;
    private readonly string? _connectionNamespace;
    private readonly string _groupVersionPath;
    private readonly string _resourceSegment;
    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly JsonTypeInfo<T>? _directTypeInfo;
    private readonly WatchEventDecoder<T> _decoder;
    private readonly ListDecoder<T> _listDecoder;
    private readonly ObjectMetadataAccessor<T> _accessor;
    private readonly string? _writeQuery;

    // Null unless MetadataOnly; then sent verbatim on reads of the collection and of one object.
    private readonly string? _listAccept;
    private readonly string? _objectAccept;

    public HttpResourceClient(ApiTransport transport, ResourceClientOptions<T> options, string? connectionNamespace)
    {
        var gvr = options.Resource;
        if (gvr.Version.Length == 0 || gvr.Resource.Length == 0)
        {
            throw new ArgumentException("The resource needs a version and a plural resource name.", nameof(options));
        }

        _transport = transport;
        _options = options;
        _connectionNamespace = connectionNamespace;
        _groupVersionPath = gvr.Group.Length == 0
            ? "/api/" + Escape(gvr.Version)
            : "/apis/" + Escape(gvr.Group) + "/" + Escape(gvr.Version);
        _resourceSegment = "/" + Escape(gvr.Resource);
        _typeInfo = ResolveTypeInfo(options);
        var automatic = options.DecodeWatchDirectly is null;
        _directTypeInfo = (options.DecodeWatchDirectly ?? DirectDecoding.KeepsPropertySetters(_typeInfo)) ? DirectDecoding.For(_typeInfo) : null;
        var identity = _directTypeInfo is null ? null : options.WatchIdentity ?? (automatic ? WatchIdentities.FromContract(_typeInfo) : null);
        if (options.MetadataOnly)
        {
            _listAccept = MetadataOnlyMediaTypes.ListAccept;
            _objectAccept = MetadataOnlyMediaTypes.ObjectAccept;

            // PartialObjectMetadata normally; the full kind from a server that ignores as= (still no Table).
            _decoder = new WatchEventDecoder<T>(_typeInfo, string.IsNullOrEmpty(options.Kind) ? null : MetadataOnlyMediaTypes.Kind, options.Kind, identity);
        }
        else
        {
            _decoder = new WatchEventDecoder<T>(_typeInfo, options.Kind, identity: identity);
        }

        _listDecoder = new ListDecoder<T>(_typeInfo, options.DecodeListsDirectly ? _directTypeInfo : null);
        _accessor = options.Accessor ?? ObjectMetadataAccessor<T>.Default;
        _writeQuery = string.IsNullOrEmpty(options.FieldManager) ? null : "?fieldManager=" + Escape(options.FieldManager);
    }

    public GroupVersionResource Resource => _options.Resource;

    public async ValueTask<ListPage<T>> ListAsync(ListOptions options, CancellationToken cancellationToken = default)
    {
        var items = new List<T>();
        var (rv, token, remaining) = await ListEachAsync(options, items.Add, cancellationToken).ConfigureAwait(false);
        return new ListPage<T> { Items = items, ResourceVersion = rv, Continue = token, RemainingItemCount = remaining };
    }

    /// <summary>Lists, handing each item to <paramref name="onItem"/> as soon as it is decoded.</summary>
    public async ValueTask<(string ResourceVersion, string? Continue, long? Remaining)> ListEachAsync(ListOptions options, Action<T> onItem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = ListPath(options);
        var response = await _transport.SendAsync(HttpMethod.Get, path, default, null, cancellationToken, _listAccept).ConfigureAwait(false);
        using (response)
        using (cancellationToken.Register(static r => ((HttpResponseMessage)r!).Dispose(), response))
        {
            EnsureJson(response);
            try
            {
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                return await _listDecoder.DecodeAsync(stream, onItem, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new KubernetesTransportException($"GET {path}: the connection broke while reading the list: {ex.Message}", ex);
            }
        }
    }

    // Reads its events from the response's buffer, awaiting only for the network: it never blocks its caller.
    public IAsyncEnumerable<WatchEvent<T>> WatchAsync(WatchOptions options, CancellationToken cancellationToken = default) =>
        new NonBlockingWatchStream<T>(WatchCoreAsync(options, cancellationToken));

    private async IAsyncEnumerable<WatchEvent<T>> WatchCoreAsync(WatchOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = WatchPath(options);
        var response = await _transport.SendAsync(HttpMethod.Get, path, default, null, cancellationToken, _objectAccept).ConfigureAwait(false);

        // Disposing the response aborts a read that is waiting for a silent server.
        var registration = cancellationToken.Register(static r => ((HttpResponseMessage)r!).Dispose(), response);
        LineReader? lines = null;
        using var objects = new StreamingObjectDecoder<T>(_typeInfo, _directTypeInfo);
        long events = 0;
        try
        {
            EnsureJson(response);
            var stream = await OpenAsync(response, path, cancellationToken).ConfigureAwait(false);
            lines = new LineReader(stream);
            Log.WatchOpened(_transport.Logger, path);
            while (await NextLineAsync(lines, path, cancellationToken).ConfigureAwait(false))
            {
                var evt = _decoder.Decode(lines.Line, lines.LineUnterminated, objects);
                events++;
                yield return evt;
            }

            Log.WatchEnded(_transport.Logger, path, events);
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            response.Dispose();
            lines?.Dispose();
        }
    }

    public async ValueTask<T> GetAsync(string? @namespace, string name, CancellationToken cancellationToken = default)
    {
        var path = ItemPath(ResolveNamespace(@namespace), name, null, null);
        var response = await _transport.SendAsync(HttpMethod.Get, path, default, null, cancellationToken, _objectAccept).ConfigureAwait(false);
        return await ReadObjectAsync(response, path, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<T> CreateAsync(T obj, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(obj);
        RejectMetadataOnlyWrite("create");
        var path = CollectionPath(ObjectNamespace(obj)) + _writeQuery;
        var body = JsonSerializer.SerializeToUtf8Bytes(obj, _typeInfo);
        var response = await _transport.SendAsync(HttpMethod.Post, path, body, JsonContentType, cancellationToken).ConfigureAwait(false);
        return await ReadObjectAsync(response, path, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<T> UpdateAsync(T obj, CancellationToken cancellationToken = default) => PutAsync(obj, null, cancellationToken);

    public ValueTask<T> UpdateStatusAsync(T obj, CancellationToken cancellationToken = default) => PutAsync(obj, "status", cancellationToken);

    public async ValueTask<T> PatchAsync(string? @namespace, string name, ReadOnlyMemory<byte> mergePatchJson, bool status = false, CancellationToken cancellationToken = default)
    {
        var path = ItemPath(ResolveNamespace(@namespace), name, status ? "status" : null, _writeQuery);
        var response = await _transport.SendAsync(HttpMethod.Patch, path, mergePatchJson, MergePatchContentType, cancellationToken, _objectAccept).ConfigureAwait(false);
        return await ReadObjectAsync(response, path, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<T?> DeleteAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default) =>
        (await DeleteWithResultAsync(@namespace, name, options, cancellationToken).ConfigureAwait(false)).Object;

    public async ValueTask<DeleteResult<T>> DeleteWithResultAsync(string? @namespace, string name, DeleteOptions? options = null, CancellationToken cancellationToken = default)
    {
        var path = ItemPath(ResolveNamespace(@namespace), name, null, null);
        var body = options is null ? default : SerializeDeleteOptions(options);
        var response = await _transport.SendAsync(HttpMethod.Delete, path, body, options is null ? null : JsonContentType, cancellationToken, _objectAccept).ConfigureAwait(false);
        using (response)
        {
            EnsureJson(response);
            byte[] bytes;
            try
            {
                bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new KubernetesTransportException($"DELETE {path}: the connection broke while reading the response: {ex.Message}", ex);
            }

            // Resources without graceful deletion answer with a Status Success instead of the object.
            if (!string.Equals(_options.Kind, "Status", StringComparison.Ordinal) && StatusErrors.TryParseStatus(bytes, out var status))
            {
                if (status.TryGetProperty("status", out var outcome) && outcome.ValueKind == JsonValueKind.String && outcome.ValueEquals("Failure"u8))
                {
                    throw StatusErrors.FromStatus(status, response.StatusCode, null);
                }

                // v1.38 servers say when the deletion happened (metadata.resourceVersion); older ones leave it out.
                return new DeleteResult<T>(default, StringProperty(status, "metadata", "resourceVersion"), StringProperty(status, "details", "uid"));
            }

            return new DeleteResult<T>(Deserialize(bytes, path));
        }
    }

    private static string? StringProperty(JsonElement status, string parent, string name) =>
        status.TryGetProperty(parent, out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal string ListPath(ListOptions options)
    {
        var query = new StringBuilder();
        Append(query, "continue", options.Continue);
        Append(query, "fieldSelector", Combine(_options.FieldSelector, options.FieldSelector));
        Append(query, "labelSelector", Combine(_options.LabelSelector, options.LabelSelector));
        Append(query, "limit", options.Limit?.ToString(CultureInfo.InvariantCulture));
        Append(query, "resourceVersion", options.ResourceVersion);
        Append(query, "resourceVersionMatch", Render(options.ResourceVersionMatch));
        Append(query, "timeoutSeconds", options.TimeoutSeconds?.ToString(CultureInfo.InvariantCulture));
        return CollectionPath(_options.Namespaced ? NullIfEmpty(_options.Namespace) : null) + query.ToString();
    }

    internal string WatchPath(WatchOptions options)
    {
        // Sorted like Go's url.Values.Encode, so requests match client-go's on the wire.
        var query = new StringBuilder();
        Append(query, "allowWatchBookmarks", options.AllowWatchBookmarks ? "true" : null);
        Append(query, "fieldSelector", Combine(_options.FieldSelector, options.FieldSelector));
        Append(query, "labelSelector", Combine(_options.LabelSelector, options.LabelSelector));
        Append(query, "resourceVersion", options.ResourceVersion);
        Append(query, "resourceVersionMatch", Render(options.ResourceVersionMatch));
        Append(query, "sendInitialEvents", options.SendInitialEvents is { } send ? (send ? "true" : "false") : null);
        Append(query, "timeoutSeconds", options.TimeoutSeconds?.ToString(CultureInfo.InvariantCulture));
        Append(query, "watch", "true");
        return CollectionPath(_options.Namespaced ? NullIfEmpty(_options.Namespace) : null) + query.ToString();
    }

    private static JsonTypeInfo<T> ResolveTypeInfo(ResourceClientOptions<T> options)
    {
        if (options.TypeInfo is { } typeInfo)
        {
            return typeInfo;
        }

        var serializerOptions = options.SerializerOptions ?? KubernetesJsonDefaults.Options;
        if (!serializerOptions.IsReadOnly)
        {
            serializerOptions.MakeReadOnly(populateMissingResolver: true);
        }

        return (JsonTypeInfo<T>)serializerOptions.GetTypeInfo(typeof(T));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<bool> NextLineAsync(LineReader lines, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new KubernetesTransportException($"GET {path}: the watch stream broke: {ex.Message}", ex);
        }
    }

    private static async ValueTask<Stream> OpenAsync(HttpResponseMessage response, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new KubernetesTransportException($"GET {path}: the watch stream broke: {ex.Message}", ex);
        }
    }

    private static void EnsureJson(HttpResponseMessage response)
    {
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is not null && !mediaType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            response.Dispose();
            throw new KubernetesDecodeException($"the server answered with content type \"{mediaType}\", expected application/json");
        }
    }

    private static string Escape(string value) => Uri.EscapeDataString(value);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string? Combine(string? a, string? b) =>
        string.IsNullOrEmpty(a) ? NullIfEmpty(b) : string.IsNullOrEmpty(b) ? a : a + "," + b;

    private static string? Render(ResourceVersionMatch? match) => match switch
    {
        ResourceVersionMatch.NotOlderThan => "NotOlderThan",
        ResourceVersionMatch.Exact => "Exact",
        null => null,
        _ => throw new ArgumentOutOfRangeException(nameof(match), match, "Unknown resourceVersionMatch."),
    };

    private static void Append(StringBuilder query, string key, string? value)
    {
        if (value is null)
        {
            return;
        }

        query.Append(query.Length == 0 ? '?' : '&').Append(key).Append('=').Append(Escape(value));
    }

    private static byte[] SerializeDeleteOptions(DeleteOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (options.GracePeriodSeconds is { } grace)
            {
                writer.WriteNumber("gracePeriodSeconds"u8, grace);
            }

            if (options.Preconditions is { } pre && (pre.Uid is not null || pre.ResourceVersion is not null))
            {
                writer.WriteStartObject("preconditions"u8);
                if (pre.Uid is not null)
                {
                    writer.WriteString("uid"u8, pre.Uid);
                }

                if (pre.ResourceVersion is not null)
                {
                    writer.WriteString("resourceVersion"u8, pre.ResourceVersion);
                }

                writer.WriteEndObject();
            }

            if (options.PropagationPolicy is { } policy)
            {
                writer.WriteString("propagationPolicy"u8, policy switch
                {
                    PropagationPolicy.Orphan => "Orphan",
                    PropagationPolicy.Background => "Background",
                    PropagationPolicy.Foreground => "Foreground",
                    _ => throw new ArgumentOutOfRangeException(nameof(options), policy, "Unknown propagation policy."),
                });
            }

            if (options.DryRun)
            {
                writer.WriteStartArray("dryRun"u8);
                writer.WriteStringValue("All"u8);
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private async ValueTask<T> PutAsync(T obj, string? subresource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(obj);
        RejectMetadataOnlyWrite(subresource is null ? "update" : "update of " + subresource);
        var name = _accessor.GetName(obj);
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("The object has no metadata.name.", nameof(obj));
        }

        var path = ItemPath(ObjectNamespace(obj), name, subresource, _writeQuery);
        var body = JsonSerializer.SerializeToUtf8Bytes(obj, _typeInfo);
        var response = await _transport.SendAsync(HttpMethod.Put, path, body, JsonContentType, cancellationToken).ConfigureAwait(false);
        return await ReadObjectAsync(response, path, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<T> ReadObjectAsync(HttpResponseMessage response, string path, CancellationToken cancellationToken)
    {
        using (response)
        {
            EnsureJson(response);
            T? obj;
            try
            {
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                obj = await JsonSerializer.DeserializeAsync(stream, _typeInfo, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException ex)
            {
                throw new KubernetesDecodeException($"{path}: the response could not be deserialized into {typeof(T).Name}: {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new KubernetesTransportException($"{path}: the connection broke while reading the response: {ex.Message}", ex);
            }

            return obj ?? throw new KubernetesDecodeException($"{path}: the response deserialized to null as {typeof(T).Name}");
        }
    }

    private T Deserialize(ReadOnlySpan<byte> json, string path)
    {
        T? obj;
        try
        {
            obj = JsonSerializer.Deserialize(json, _typeInfo);
        }
        catch (JsonException ex)
        {
            throw new KubernetesDecodeException($"{path}: the response could not be deserialized into {typeof(T).Name}: {ex.Message}", ex);
        }

        return obj ?? throw new KubernetesDecodeException($"{path}: the response deserialized to null as {typeof(T).Name}");
    }

    /// <summary>
    /// client-go's metadata.ResourceInterface has no Create or Update: a body built from metadata alone would drop the
    /// object's spec and status (a PUT replaces them), so such writes are refused before anything is sent.
    /// </summary>
    private void RejectMetadataOnlyWrite(string verb)
    {
        if (_options.MetadataOnly)
        {
            throw new NotSupportedException(
                $"A metadata-only client of {_options.Resource.GroupResource} cannot {verb}: it holds no spec or status to send. Use PatchAsync (e.g. a merge patch of metadata.labels) or DeleteAsync, or a full-object client.");
        }
    }

    private string CollectionPath(string? @namespace) =>
        @namespace is null
            ? _groupVersionPath + _resourceSegment
            : _groupVersionPath + "/namespaces/" + Escape(@namespace) + _resourceSegment;

    private string ItemPath(string? @namespace, string name, string? subresource, string? query)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var path = CollectionPath(@namespace) + "/" + Escape(name);
        return (subresource is null ? path : path + "/" + subresource) + query;
    }

    /// <summary>The namespace for one object: the given one, else the client's, else the connection's.</summary>
    private string? ResolveNamespace(string? @namespace)
    {
        if (!_options.Namespaced)
        {
            if (!string.IsNullOrEmpty(@namespace))
            {
                throw new ArgumentException($"{_options.Resource.GroupResource} is cluster-scoped; no namespace may be given.", nameof(@namespace));
            }

            return null;
        }

        var resolved = NullIfEmpty(@namespace) ?? NullIfEmpty(_options.Namespace) ?? NullIfEmpty(_connectionNamespace);
        return resolved ?? throw new ArgumentException($"{_options.Resource.GroupResource} is namespaced; a namespace is required.", nameof(@namespace));
    }

    private string? ObjectNamespace(T obj) =>
        _options.Namespaced ? ResolveNamespace(_accessor.GetNamespace(obj)) : null;
}
