using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Client;

/// <summary>
/// Decodes a list response (<c>{"kind":…,"metadata":{…},"items":[…]}</c>) from a stream in one pooled buffer,
/// handing each item to a callback as soon as its bytes have arrived. The response is never buffered whole:
/// the buffer holds at most one read chunk plus the item in progress (it grows only for an item larger than
/// itself). Resumable: <see cref="Utf8JsonReader"/> state is committed after every complete unit (a property,
/// a whole skipped value, an item), and an incomplete unit is re-read once more data has arrived.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class ListDecoder<T>
{
    internal const int InitialBufferSize = 64 * 1024;
    internal const int MaxBufferSize = 256 * 1024 * 1024;

    private readonly JsonTypeInfo<T> _typeInfo;
    private byte[] _buffer = [];
    private int _pos;
    private int _end;
    private JsonReaderState _state;
    private Phase _phase;
    private string? _resourceVersion;
    private string? _continue;
    private long? _remaining;

    public ListDecoder(JsonTypeInfo<T> typeInfo) => _typeInfo = typeInfo;

    private enum Phase
    {
        Start,
        TopLevel,
        Items,
        Done,
    }

    /// <summary>The largest buffer used, for tests that assert the response was not buffered whole.</summary>
    public int PeakBufferSize { get; private set; }

    /// <summary>Items decoded so far.</summary>
    public int ItemCount { get; private set; }

    /// <summary>Decodes the list, calling <paramref name="onItem"/> for every item in order.</summary>
    /// <returns>The list metadata as a page with an empty item list.</returns>
    public async ValueTask<(string ResourceVersion, string? Continue, long? Remaining)> DecodeAsync(Stream stream, Action<T> onItem, CancellationToken cancellationToken)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        PeakBufferSize = _buffer.Length;
        _state = new JsonReaderState(WatchEventDecoder<T>.ReaderOptions);
        try
        {
            // The reader never runs in final-block mode: a complete list ends with '}', which it recognises without
            // look-ahead, so running out of data before that is always a truncated body.
            while (!Process(onItem))
            {
                // An incomplete unit (typically the item straddling the buffer end) is re-scanned from its start
                // once more data is in. Wait for at least twice as much unparsed data first, so a large item
                // arriving in small reads is re-scanned O(log n) times rather than once per read.
                var target = Math.Max(2 * (_end - _pos), 1);
                do
                {
                    MakeRoom(target);
                    var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        if (Process(onItem))
                        {
                            return (_resourceVersion ?? string.Empty, string.IsNullOrEmpty(_continue) ? null : _continue, _remaining);
                        }

                        throw new KubernetesDecodeException($"the list response ended early, after {ItemCount} items (truncated body)");
                    }

                    _end += read;
                }
                while (_end - _pos < target);
            }

            return (_resourceVersion ?? string.Empty, string.IsNullOrEmpty(_continue) ? null : _continue, _remaining);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Moves unparsed data to the front and makes sure the buffer can hold <paramref name="needed"/> bytes plus a read.</summary>
    private void MakeRoom(int needed)
    {
        var pending = _end - _pos;
        if (_pos > 0)
        {
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, pending);
            _pos = 0;
            _end = pending;
        }

        if (_end == _buffer.Length || needed > _buffer.Length)
        {
            if (_buffer.Length >= MaxBufferSize)
            {
                throw new KubernetesDecodeException($"a list item exceeds {MaxBufferSize} bytes");
            }

            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(_buffer.Length * 2, needed), MaxBufferSize));
            Buffer.BlockCopy(_buffer, 0, bigger, 0, pending);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
            PeakBufferSize = Math.Max(PeakBufferSize, bigger.Length);
        }
    }

    /// <summary>Consumes what the buffer holds; <see langword="true"/> when the list is complete.</summary>
    private bool Process(Action<T> onItem)
    {
        var span = _buffer.AsSpan(_pos, _end - _pos);
        var reader = new Utf8JsonReader(span, isFinalBlock: false, _state);
        var committed = 0;
        var committedState = _state;
        try
        {
            while (true)
            {
                switch (_phase)
                {
                    case Phase.Start:
                        if (!reader.Read())
                        {
                            goto NeedMore;
                        }

                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            throw new KubernetesDecodeException($"the list response is not a JSON object (found {reader.TokenType})");
                        }

                        _phase = Phase.TopLevel;
                        break;

                    case Phase.TopLevel:
                        if (!reader.Read())
                        {
                            goto NeedMore;
                        }

                        if (reader.TokenType == JsonTokenType.EndObject)
                        {
                            _phase = Phase.Done;
                            committed = (int)reader.BytesConsumed;
                            _pos += committed;
                            return true;
                        }

                        var property = reader.ValueTextEquals("items"u8) ? 1 : reader.ValueTextEquals("metadata"u8) ? 2 : 0;
                        if (!reader.Read())
                        {
                            goto NeedMore;
                        }

                        if (property == 1 && reader.TokenType == JsonTokenType.StartArray)
                        {
                            _phase = Phase.Items;
                        }
                        else if (property == 2 && reader.TokenType == JsonTokenType.StartObject)
                        {
                            var start = (int)reader.TokenStartIndex;
                            if (!reader.TrySkip())
                            {
                                goto NeedMore;
                            }

                            ReadListMeta(span[start..(int)reader.BytesConsumed]);
                        }
                        else if (property == 1 && reader.TokenType != JsonTokenType.Null)
                        {
                            throw new KubernetesDecodeException($"the list's \"items\" is not an array (found {reader.TokenType})");
                        }
                        else if (!reader.TrySkip())
                        {
                            goto NeedMore;
                        }

                        break;

                    case Phase.Items:
                        if (!reader.Read())
                        {
                            goto NeedMore;
                        }

                        if (reader.TokenType == JsonTokenType.EndArray)
                        {
                            _phase = Phase.TopLevel;
                            break;
                        }

                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            throw new KubernetesDecodeException($"list item {ItemCount} is not a JSON object (found {reader.TokenType})");
                        }

                        var itemStart = (int)reader.TokenStartIndex;
                        if (!reader.TrySkip())
                        {
                            goto NeedMore;
                        }

                        onItem(DeserializeItem(span[itemStart..(int)reader.BytesConsumed]));
                        break;
                }

                committed = (int)reader.BytesConsumed;
                committedState = reader.CurrentState;
            }
        }
        catch (JsonException ex)
        {
            throw new KubernetesDecodeException($"the list response is not valid JSON after {ItemCount} items: {ex.Message}", ex);
        }

    NeedMore:
        _pos += committed;
        _state = committedState;
        return false;
    }

    private T DeserializeItem(ReadOnlySpan<byte> json)
    {
        T? item;
        try
        {
            item = JsonSerializer.Deserialize(json, _typeInfo);
        }
        catch (JsonException ex)
        {
            throw new KubernetesDecodeException($"list item {ItemCount} could not be deserialized into {typeof(T).Name}: {ex.Message}", ex);
        }

        if (item is null)
        {
            throw new KubernetesDecodeException($"list item {ItemCount} deserialized to null as {typeof(T).Name}");
        }

        ItemCount++;
        return item;
    }

    private void ReadListMeta(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, WatchEventDecoder<T>.ReaderOptions);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("resourceVersion"u8) ? 1 : reader.ValueTextEquals("continue"u8) ? 2 : reader.ValueTextEquals("remainingItemCount"u8) ? 3 : 0;
            reader.Read();
            switch (field)
            {
                case 1 when reader.TokenType == JsonTokenType.String:
                    _resourceVersion = reader.GetString();
                    break;
                case 2 when reader.TokenType == JsonTokenType.String:
                    _continue = reader.GetString();
                    break;
                case 3 when reader.TokenType == JsonTokenType.Number:
                    _remaining = reader.GetInt64();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }
}
