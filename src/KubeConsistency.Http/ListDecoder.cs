using System.Collections;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Http;

/// <summary>
/// Decodes a list response (<c>{"kind":…,"metadata":{…},"items":[…]}</c>) from a stream, handing each item to a
/// callback as soon as it is complete, in a single tokenizing pass.
/// </summary>
/// <remarks>
/// The response is deserialized by <see cref="JsonSerializer.DeserializeAsync{TValue}(Stream, JsonTypeInfo{TValue}, CancellationToken)"/>
/// into a list envelope whose <c>items</c> property is a write-only collection that forwards every element to
/// the callback instead of keeping it. The envelope's contract is built with <see cref="JsonMetadataServices"/>
/// around the caller's <see cref="JsonTypeInfo{T}"/> (so it works with source-generated contexts and needs no
/// reflection), and items are therefore decoded by the serializer's own resumable streaming: the body is read
/// in <see cref="JsonSerializerOptions.DefaultBufferSize"/> chunks and never buffered whole (the buffer only
/// grows to hold one value of a type without a resumable converter, such as a <see cref="JsonElement"/> item),
/// and nothing is allocated per item beyond the item itself. Configured envelopes are pooled per client. Given a
/// <see cref="DirectDecoding"/> contract, a list goes through <see cref="DirectListDecoder{T}"/> instead: there a value
/// converter costs no look-ahead over each item.
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class ListDecoder<T>
{
    private const int MaxPooled = 8;

    private readonly JsonTypeInfo<T> _itemInfo;
    private readonly DirectListDecoder<T>? _direct;
    private readonly ConcurrentQueue<Session> _pool = new();

    /// <param name="itemInfo">The item contract.</param>
    /// <param name="direct">
    /// The same contract from <see cref="DirectDecoding"/>, or <see langword="null"/>. With it, lists are decoded by
    /// <see cref="DirectListDecoder{T}"/> where its options allow, each item in one pass.
    /// </param>
    public ListDecoder(JsonTypeInfo<T> itemInfo, JsonTypeInfo<T>? direct = null)
    {
        _itemInfo = itemInfo;
        _direct = DirectListDecoder<T>.TryCreate(itemInfo, direct);
    }

    /// <summary>Decodes the list, calling <paramref name="onItem"/> for every item in order.</summary>
    /// <returns>The list's <c>metadata</c>: resource version (<c>""</c> when absent), continue token, remaining item count.</returns>
    /// <exception cref="KubernetesDecodeException">The body is not a list, or an item does not deserialize into <typeparamref name="T"/>.</exception>
    public async ValueTask<(string ResourceVersion, string? Continue, long? Remaining)> DecodeAsync(Stream stream, Action<T> onItem, CancellationToken cancellationToken)
    {
        if (_direct is not null)
        {
            return ReadMetadata(await _direct.DecodeAsync(stream, onItem, cancellationToken).ConfigureAwait(false));
        }

        var session = _pool.TryDequeue(out var pooled) ? pooled : new Session(_itemInfo);
        var sink = session.Sink;
        sink.Begin(onItem);
        try
        {
            Envelope? envelope;
            try
            {
                envelope = await JsonSerializer.DeserializeAsync(stream, session.Info, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException ex)
            {
                throw new KubernetesDecodeException($"the list response is malformed or truncated after {sink.Count} items: {ex.Message}", ex);
            }

            if (envelope is null)
            {
                throw new KubernetesDecodeException("the list response is null");
            }

            return ReadMetadata(envelope.Metadata);
        }
        finally
        {
            sink.End();
            if (_pool.Count < MaxPooled)
            {
                _pool.Enqueue(session);
            }
        }
    }

    private static (string, string?, long?) ReadMetadata(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object)
        {
            return (string.Empty, null, null);
        }

        var rv = metadata.TryGetProperty("resourceVersion", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        var token = metadata.TryGetProperty("continue", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        long? remaining = metadata.TryGetProperty("remainingItemCount", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt64(out var count) ? count : null;
        return (rv ?? string.Empty, string.IsNullOrEmpty(token) ? null : token, remaining);
    }

    /// <summary>The list object: only <c>metadata</c> and <c>items</c> are read; other members are skipped.</summary>
    internal sealed class Envelope
    {
        public JsonElement Metadata { get; set; }

        public ItemSink? Items { get; set; }
    }

    /// <summary>A collection the serializer adds items to; it forwards them to the current callback and keeps none.</summary>
    internal sealed class ItemSink : ICollection<T>
    {
        private Action<T>? _onItem;

        public int Count { get; private set; }

        public bool IsReadOnly => false;

        public void Begin(Action<T> onItem)
        {
            _onItem = onItem;
            Count = 0;
        }

        public void End() => _onItem = null;

        public void Add(T item)
        {
            if (item is null)
            {
                throw new KubernetesDecodeException($"list item {Count} is null");
            }

            Count++;
            _onItem!(item);
        }

        public void Clear()
        {
        }

        public bool Contains(T item) => false;

        public void CopyTo(T[] array, int arrayIndex)
        {
        }

        public bool Remove(T item) => false;

        public IEnumerator<T> GetEnumerator() => Enumerable.Empty<T>().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>One configured envelope contract and its sink; used by one list at a time.</summary>
    private sealed class Session
    {
        public Session(JsonTypeInfo<T> itemInfo)
        {
            var options = itemInfo.Options;
            var sink = new ItemSink();
            Sink = sink;
            var sinkInfo = JsonMetadataServices.CreateICollectionInfo<ItemSink, T>(options, new JsonCollectionInfoValues<ItemSink>
            {
                ObjectCreator = () => sink,
                ElementInfo = itemInfo,
            });
            var metadataInfo = JsonMetadataServices.CreateValueInfo<JsonElement>(options, JsonMetadataServices.JsonElementConverter);
            Info = JsonMetadataServices.CreateObjectInfo(options, new JsonObjectInfoValues<Envelope>
            {
                ObjectCreator = static () => new Envelope(),
                PropertyMetadataInitializer = _ =>
                [
                    JsonMetadataServices.CreatePropertyInfo(options, new JsonPropertyInfoValues<JsonElement>
                    {
                        IsProperty = true,
                        IsPublic = true,
                        DeclaringType = typeof(Envelope),
                        PropertyTypeInfo = metadataInfo,
                        PropertyName = nameof(Envelope.Metadata),
                        JsonPropertyName = "metadata",
                        Getter = static e => ((Envelope)e).Metadata,
                        Setter = static (e, v) => ((Envelope)e).Metadata = v,
                    }),
                    JsonMetadataServices.CreatePropertyInfo(options, new JsonPropertyInfoValues<ItemSink>
                    {
                        IsProperty = true,
                        IsPublic = true,
                        DeclaringType = typeof(Envelope),
                        PropertyTypeInfo = sinkInfo,
                        PropertyName = nameof(Envelope.Items),
                        JsonPropertyName = "items",
                        Getter = static e => ((Envelope)e).Items,
                        Setter = static (e, v) => ((Envelope)e).Items = v,
                    }),
                ],
            });
            Info.UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip;
        }

        public ItemSink Sink { get; }

        public JsonTypeInfo<Envelope> Info { get; }
    }
}
