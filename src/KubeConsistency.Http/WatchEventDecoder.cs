using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace KubeConsistency.Http;

/// <summary>
/// Decodes one watch line, <c>{"type":"…","object":{…}}</c>, in a single tokenizing pass that finds the object's
/// bounds and reads its <c>kind</c>, <c>metadata.resourceVersion</c> and the <c>k8s.io/initial-events-end</c>
/// annotation; only the object's bytes are then deserialized into <typeparamref name="T"/> (bookmarks are not
/// deserialized at all). The only allocations per event are the object and its resource version string (with a
/// <see cref="StreamingObjectDecoder{T}"/>, System.Text.Json's read-stack frames are not among them either).
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
internal sealed class WatchEventDecoder<T>
{
    internal static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 1024 };

    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly byte[]? _expectedKind;
    private readonly byte[]? _alternateKind;
    private readonly string? _expectedKindName;

    /// <param name="typeInfo">The object contract.</param>
    /// <param name="expectedKind">The kind objects must have; <see langword="null"/> accepts any.</param>
    /// <param name="alternateKind">A second accepted kind (a metadata-only watch also takes the full kind from a server that ignores <c>as=</c>).</param>
    public WatchEventDecoder(JsonTypeInfo<T> typeInfo, string? expectedKind, string? alternateKind = null)
    {
        _typeInfo = typeInfo;
        if (!string.IsNullOrEmpty(expectedKind))
        {
            _expectedKindName = string.IsNullOrEmpty(alternateKind) ? expectedKind : expectedKind + "\" or \"" + alternateKind;
            _expectedKind = Encoding.UTF8.GetBytes(expectedKind);
            _alternateKind = string.IsNullOrEmpty(alternateKind) ? null : Encoding.UTF8.GetBytes(alternateKind);
        }
    }

    private enum EventType : byte
    {
        None,
        Added,
        Modified,
        Deleted,
        Bookmark,
        Error,
        Unknown,
    }

    /// <summary>Decodes a line; throws <see cref="WatchDecodeException"/> or, for ERROR events, the mapped <see cref="KubernetesApiException"/>.</summary>
    /// <param name="line">The line without its newline.</param>
    /// <param name="unterminated">Whether the stream ended before the line's newline.</param>
    /// <param name="objects">The watch's streaming object decoder, or <see langword="null"/> for one <c>Deserialize</c> per object.</param>
    public WatchEvent<T> Decode(ReadOnlySpan<byte> line, bool unterminated = false, StreamingObjectDecoder<T>? objects = null)
    {
        var type = EventType.None;
        string? unknownType = null;
        var objStart = -1;
        var objLength = 0;
        var objIsNull = false;
        var info = default(ObjectInfo);
        try
        {
            var reader = new Utf8JsonReader(line, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new WatchDecodeException("the line is not a JSON object", line);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw new WatchDecodeException("the event's \"type\" is not a string", line);
                    }

                    type = ParseType(ref reader, out unknownType);
                }
                else if (reader.ValueTextEquals("object"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        objStart = (int)reader.TokenStartIndex;
                        ScanObject(ref reader, ref info);
                        objLength = (int)reader.BytesConsumed - objStart;
                    }
                    else if (reader.TokenType == JsonTokenType.Null)
                    {
                        objIsNull = true;
                    }
                    else
                    {
                        throw new WatchDecodeException("the event's \"object\" is not a JSON object", line);
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // Anything but whitespace after the event object is malformed (the reader throws).
            reader.Read();
        }
        catch (JsonException ex)
        {
            throw new WatchDecodeException(
                unterminated ? "the stream ended in the middle of an event (truncated line)" : "the line is not valid JSON",
                line,
                ex);
        }

        switch (type)
        {
            case EventType.None:
                throw new WatchDecodeException("the event has no \"type\"", line);
            case EventType.Unknown:
                throw new WatchDecodeException($"unknown watch event type \"{unknownType}\"", line);
            case EventType.Error:
                throw ErrorEvent(line, objStart, objLength);
        }

        if (objStart < 0)
        {
            throw new WatchDecodeException(objIsNull ? "the event's object is null" : "the event has no \"object\"", line);
        }

        if (info.ActualKind is not null)
        {
            throw new WatchDecodeException(
                $"expected an object of kind \"{_expectedKindName}\" but got \"{info.ActualKind}\" (a Table or another kind cannot be decoded into {typeof(T).Name})",
                line);
        }

        var rv = info.ResourceVersion ?? string.Empty;
        if (type == EventType.Bookmark)
        {
            return new WatchEvent<T>(WatchEventType.Bookmark, default, rv, info.InitialEventsEnd);
        }

        T? obj;
        try
        {
            var json = line.Slice(objStart, objLength);
            obj = objects is null ? JsonSerializer.Deserialize(json, _typeInfo) : objects.Decode(json);
        }
        catch (JsonException ex)
        {
            throw new WatchDecodeException($"the object could not be deserialized into {typeof(T).Name}: {ex.Message}", line, ex);
        }

        if (obj is null)
        {
            throw new WatchDecodeException($"the object deserialized to null as {typeof(T).Name}", line);
        }

        var eventType = type switch
        {
            EventType.Added => WatchEventType.Added,
            EventType.Modified => WatchEventType.Modified,
            _ => WatchEventType.Deleted,
        };
        return new WatchEvent<T>(eventType, obj, rv);
    }

    private static EventType ParseType(ref Utf8JsonReader reader, out string? unknown)
    {
        unknown = null;
        if (reader.ValueTextEquals("ADDED"u8))
        {
            return EventType.Added;
        }

        if (reader.ValueTextEquals("MODIFIED"u8))
        {
            return EventType.Modified;
        }

        if (reader.ValueTextEquals("DELETED"u8))
        {
            return EventType.Deleted;
        }

        if (reader.ValueTextEquals("BOOKMARK"u8))
        {
            return EventType.Bookmark;
        }

        if (reader.ValueTextEquals("ERROR"u8))
        {
            return EventType.Error;
        }

        unknown = reader.GetString();
        return EventType.Unknown;
    }

    private static Exception ErrorEvent(ReadOnlySpan<byte> line, int objStart, int objLength)
    {
        if (objStart < 0)
        {
            return new WatchDecodeException("an ERROR event without a Status object", line);
        }

        var reader = new Utf8JsonReader(line.Slice(objStart, objLength), ReaderOptions);
        var status = JsonElement.ParseValue(ref reader);

        // Go: apierrors.FromObject(event.Object); a Status without a code is an internal error.
        return StatusErrors.FromStatus(status, HttpStatusCode.InternalServerError, null);
    }

    private void ScanObject(ref Utf8JsonReader reader, ref ObjectInfo info)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("kind"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && _expectedKind is not null && !reader.ValueTextEquals(_expectedKind)
                    && (_alternateKind is null || !reader.ValueTextEquals(_alternateKind)))
                {
                    info.ActualKind = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("metadata"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ScanMetadata(ref reader, ref info);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ScanMetadata(ref Utf8JsonReader reader, ref ObjectInfo info)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("resourceVersion"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    info.ResourceVersion = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("annotations"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isEnd = reader.ValueTextEquals("k8s.io/initial-events-end"u8);
                    reader.Read();
                    if (isEnd && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("true"u8))
                    {
                        info.InitialEventsEnd = true;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private struct ObjectInfo
    {
        public string? ResourceVersion;
        public string? ActualKind;
        public bool InitialEventsEnd;
    }
}
