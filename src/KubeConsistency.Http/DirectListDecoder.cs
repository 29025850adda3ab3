using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Http;

/// <summary>
/// Decodes a list response in its own loop over a buffer of the body, each item in place with a
/// <see cref="DirectDecoding"/> contract: the item's only tokenizing pass is its decode.
/// </summary>
/// <remarks>
/// Why: through <see cref="ListDecoder{T}"/>'s streaming decode a value converter makes the serializer look ahead over
/// each item to find its end before reading it, a second pass that cost what the direct decode saves. Here the item is
/// decoded from where it starts with a reader that may run past it; the decode stops at the item's own end. The buffer
/// holds at least twice the largest item seen so far ahead of the item (at least 16 KiB), so an item is rarely cut by
/// the buffer's end; one that is fails to decode, and is decoded again once the buffer holds it whole. An item the
/// direct decode rejects (a repeated member at its root or metadata, a value it does not read, any error) is decoded
/// by the serializer with the original contract, whose value or error stands. The envelope's grammar is the
/// serializer's: members other than <c>metadata</c> and <c>items</c> skipped, the last of a repeated member wins,
/// <c>items: null</c> is no items, nothing after the root object. Errors name the items decoded before them, as
/// <see cref="ListDecoder{T}"/>'s do; their JSON paths start at the item, not at the list.
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class DirectListDecoder<T>
{
    private const int InitialBufferSize = 64 * 1024;
    private const int MinimumLookahead = 16 * 1024;

    private readonly JsonTypeInfo<T> _itemInfo;
    private readonly JsonTypeInfo<T> _direct;
    private readonly JsonReaderOptions _listOptions;
    private readonly JsonReaderOptions _itemOptions;

    private DirectListDecoder(JsonTypeInfo<T> itemInfo, JsonTypeInfo<T> direct, int maxDepth)
    {
        _itemInfo = itemInfo;
        _direct = direct;
        _listOptions = new JsonReaderOptions { MaxDepth = maxDepth };

        // Items sit two levels into the list: the serializer's depth limit leaves them two levels fewer.
        _itemOptions = new JsonReaderOptions { MaxDepth = maxDepth - 2 };
    }

    /// <summary>
    /// The decoder for <paramref name="itemInfo"/> and its direct contract, or <see langword="null"/> where the list
    /// must keep the serializer's streaming: options that allow comments or trailing commas (the loop between items
    /// does not skip them), or a depth limit that leaves items no depth of their own.
    /// </summary>
    public static DirectListDecoder<T>? TryCreate(JsonTypeInfo<T> itemInfo, JsonTypeInfo<T>? direct)
    {
        var options = itemInfo.Options;
        var maxDepth = DirectDecoding.MaxDepth(options);
        return direct is null || options.ReadCommentHandling != JsonCommentHandling.Disallow || options.AllowTrailingCommas || maxDepth < 3
            ? null
            : new DirectListDecoder<T>(itemInfo, direct, maxDepth);
    }

    /// <summary>Decodes the list, calling <paramref name="onItem"/> for every item in order.</summary>
    /// <returns>The list's <c>metadata</c> element (<see cref="JsonValueKind.Undefined"/> when absent).</returns>
    /// <exception cref="KubernetesDecodeException">The body is not a list, or an item does not deserialize into <typeparamref name="T"/>.</exception>
    public async ValueTask<JsonElement> DecodeAsync(Stream stream, Action<T> onItem, CancellationToken cancellationToken)
    {
        var parse = new Parse(this, onItem);
        var buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        int start = 0, end = 0;
        var final = false;
        try
        {
            while (true)
            {
                // Read until the parse has what it asked for, the buffer is full, or the body ends.
                var wanted = Math.Max(parse.Wanted, end - start + 1);
                if (buffer.Length - start < wanted || end == buffer.Length)
                {
                    var next = buffer.Length < wanted ? ArrayPool<byte>.Shared.Rent(Math.Max(wanted, buffer.Length * 2)) : buffer;
                    buffer.AsSpan(start, end - start).CopyTo(next);
                    if (next != buffer)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = next;
                    }

                    end -= start;
                    start = 0;
                }

                do
                {
                    var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken).ConfigureAwait(false);
                    final = read == 0;
                    end += read;
                }
                while (!final && end - start < wanted && end < buffer.Length);

                start += parse.Advance(buffer.AsSpan(start, end - start), final);
                if (parse.Done)
                {
                    return parse.Metadata;
                }

                if (final)
                {
                    // Advance throws at the end of a body it has not finished; this only guards against a loop.
                    throw parse.Truncated();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';

    private enum Position
    {
        /// <summary>In the list object, read by the reader at <see cref="Parse.State"/>.</summary>
        Envelope,

        /// <summary>Just inside an <c>items</c> array.</summary>
        ArrayStart,

        /// <summary>After a comma between items.</summary>
        AfterComma,

        /// <summary>After an item.</summary>
        AfterItem,
    }

    /// <summary>The state of one list's decode between reads of its body.</summary>
    private sealed class Parse(DirectListDecoder<T> decoder, Action<T> onItem)
    {
        private Position _position;
        private JsonReaderState _arrayState;
        private bool _rootClosed;
        private int _largestItem;

        public JsonReaderState State { get; private set; } = new(decoder._listOptions);

        public int Count { get; private set; }

        public bool Done { get; private set; }

        /// <summary>
        /// Unread bytes the next <see cref="Advance"/> wants (unless the body ends first); 1 asks for any more than the
        /// caller holds unread.
        /// </summary>
        public int Wanted { get; private set; }

        public JsonElement Metadata { get; private set; }

        public KubernetesDecodeException Truncated() => new($"the list response is truncated after {Count} items");

        /// <summary>Decodes what <paramref name="data"/> holds whole; returns the bytes it is done with.</summary>
        public int Advance(ReadOnlySpan<byte> data, bool final)
        {
            Wanted = 0;
            try
            {
                var position = 0;
                while (true)
                {
                    var consumed = _position == Position.Envelope ? ReadEnvelope(data[position..], final) : ReadItems(data[position..], final);
                    position += consumed;
                    if (Done || Wanted > 0)
                    {
                        return position;
                    }
                }
            }
            catch (JsonException ex)
            {
                throw new KubernetesDecodeException($"the list response is malformed or truncated after {Count} items: {ex.Message}", ex);
            }
        }

        // Up to the end of the data, the root's end, or the start of an items array.
        private int ReadEnvelope(ReadOnlySpan<byte> data, bool final)
        {
            var reader = new Utf8JsonReader(data, final, State);
            while (true)
            {
                // Each member is read whole from a checkpoint before its name, so that more data restarts it there.
                State = reader.CurrentState;
                var checkpoint = (int)reader.BytesConsumed;
                if (!reader.Read())
                {
                    if (final)
                    {
                        if (!_rootClosed)
                        {
                            throw Truncated();
                        }

                        Done = true;
                    }
                    else
                    {
                        Wanted = 1;
                    }

                    return checkpoint;
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject when reader.CurrentDepth == 0:
                        continue;
                    case JsonTokenType.EndArray when reader.CurrentDepth == 1:
                        // The end of an items array: every other array is skipped whole with its member.
                        continue;
                    case JsonTokenType.Null when reader.CurrentDepth == 0:
                        throw new KubernetesDecodeException("the list response is null");
                    case JsonTokenType.EndObject when reader.CurrentDepth == 0:
                        _rootClosed = true;
                        continue;
                    case JsonTokenType.PropertyName when reader.CurrentDepth == 1:
                        break;
                    default:
                        throw new KubernetesDecodeException($"the list response is malformed after {Count} items: a list is a JSON object of metadata and items, not {reader.TokenType} at depth {reader.CurrentDepth}");
                }

                var member = reader.ValueTextEquals("items"u8) ? 1 : reader.ValueTextEquals("metadata"u8) ? 2 : 0;
                if (!reader.Read())
                {
                    Wanted = 1;
                    return checkpoint;
                }

                if (member == 1 && reader.TokenType == JsonTokenType.StartArray)
                {
                    _arrayState = reader.CurrentState;
                    _position = Position.ArrayStart;
                    return (int)reader.BytesConsumed;
                }

                if (member == 1 && reader.TokenType != JsonTokenType.Null)
                {
                    throw new KubernetesDecodeException($"the list response is malformed after {Count} items: its items are {reader.TokenType}, not an array");
                }

                // A member's value is read only once it is whole (skipping a string or number stays on it).
                var probe = reader;
                if (!probe.TrySkip())
                {
                    Wanted = 1;
                    return checkpoint;
                }

                if (member == 2)
                {
                    Metadata = JsonElement.ParseValue(ref reader);
                }
                else
                {
                    reader = probe;
                }
            }
        }

        // Items and the punctuation between them, up to the data's end or the array's closing bracket.
        private int ReadItems(ReadOnlySpan<byte> data, bool final)
        {
            var position = 0;
            while (true)
            {
                while (position < data.Length && IsWhitespace(data[position]))
                {
                    position++;
                }

                if (position == data.Length)
                {
                    if (final)
                    {
                        throw Truncated();
                    }

                    Wanted = 1;
                    return position;
                }

                var next = data[position];
                if (next == ']' && _position is Position.ArrayStart or Position.AfterItem)
                {
                    // The reader goes on from the array's start, whose state also takes the closing bracket.
                    State = _arrayState;
                    _position = Position.Envelope;
                    return position;
                }

                if (_position == Position.AfterItem)
                {
                    if (next != ',')
                    {
                        throw new KubernetesDecodeException($"the list response is malformed after {Count} items: '{(char)next}' where a comma or the items' end belongs");
                    }

                    position++;
                    _position = Position.AfterComma;
                    continue;
                }

                var lookahead = Math.Max(MinimumLookahead, 2 * _largestItem);
                if (!final && data.Length - position < lookahead)
                {
                    Wanted = lookahead;
                    return position;
                }

                var length = ReadItem(data[position..], final);
                if (length == 0)
                {
                    Wanted = Math.Max(lookahead, 2 * (data.Length - position));
                    return position;
                }

                position += length;
                _largestItem = Math.Max(_largestItem, length);
                _position = Position.AfterItem;
            }
        }

        // One item from the start of the data: its length, or 0 when the data does not hold it whole yet.
        private int ReadItem(ReadOnlySpan<byte> data, bool final)
        {
            T? item;
            if (data[0] == '{')
            {
                // Final: a cut item fails here rather than waiting; the decode stops at the item's own end.
                var reader = new Utf8JsonReader(data, isFinalBlock: true, new JsonReaderState(decoder._itemOptions));
                reader.Read();
                if (DirectDecoding.TryReadObject(decoder._direct, ref reader, out item))
                {
                    Deliver(item);
                    return (int)reader.BytesConsumed;
                }
            }

            var probe = new Utf8JsonReader(data, final, new JsonReaderState(decoder._itemOptions));
            try
            {
                if (!probe.Read() || !probe.TrySkip())
                {
                    return 0;
                }
            }
            catch (JsonException)
            {
                // The item breaks the grammar. Its streaming decode would read up to the break and may fail first in a
                // converter (a timestamp, a quantity): decoded from the span, value by value, it fails where that would.
                JsonSerializer.Deserialize(data, decoder._itemInfo);
                throw;
            }

            var length = (int)probe.BytesConsumed;
            item = JsonSerializer.Deserialize(data[..length], decoder._itemInfo);
            Deliver(item);
            return length;
        }

        private void Deliver(T? item)
        {
            if (item is null)
            {
                throw new KubernetesDecodeException($"list item {Count} is null");
            }

            Count++;
            onItem(item);
        }
    }
}
