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
    private readonly string? _expectedKindText;
    private readonly string? _alternateKindText;
    private readonly string? _expectedKindName;
    private readonly Func<T, (string? Kind, string? ResourceVersion)>? _identity;

    /// <param name="typeInfo">The object contract.</param>
    /// <param name="expectedKind">The kind objects must have; <see langword="null"/> accepts any.</param>
    /// <param name="alternateKind">A second accepted kind (a metadata-only watch also takes the full kind from a server that ignores <c>as=</c>).</param>
    /// <param name="identity">
    /// The decoded object's <c>kind</c> and <c>metadata.resourceVersion</c>, as the contract maps those members; given
    /// it, objects with a <see cref="DirectDecoding"/> contract are decoded in the line's only pass (see <see cref="TryDecodeInOnePass"/>).
    /// </param>
    public WatchEventDecoder(JsonTypeInfo<T> typeInfo, string? expectedKind, string? alternateKind = null, Func<T, (string? Kind, string? ResourceVersion)>? identity = null)
    {
        _typeInfo = typeInfo;
        _identity = identity;
        if (!string.IsNullOrEmpty(expectedKind))
        {
            _expectedKindName = string.IsNullOrEmpty(alternateKind) ? expectedKind : expectedKind + "\" or \"" + alternateKind;
            _expectedKind = Encoding.UTF8.GetBytes(expectedKind);
            _expectedKindText = expectedKind;
            _alternateKind = string.IsNullOrEmpty(alternateKind) ? null : Encoding.UTF8.GetBytes(alternateKind);
            _alternateKindText = string.IsNullOrEmpty(alternateKind) ? null : alternateKind;
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
        if (_identity is not null && objects?.Direct is { } direct && TryDecodeInOnePass(line, direct, out var decoded))
        {
            return decoded;
        }

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

        return new WatchEvent<T>(ObjectEventType(type), obj, rv);
    }

    /// <summary>
    /// Decodes an ADDED, MODIFIED or DELETED line whose <c>type</c> comes before its <c>object</c> (the order
    /// kube-apiserver writes) in one tokenizing pass: the object is read where the envelope's scan meets it, and its kind
    /// and resource version are taken from the decoded object. Whatever this pass does not take as is (another type, a
    /// repeated member the scan must see, any error) returns <see langword="false"/>, and the caller's scan and decode
    /// give the exact result or error.
    /// </summary>
    /// <remarks>
    /// Why: the scan that finds an object's bounds tokenizes the whole object once before it is deserialized: about a
    /// third of the decode's own cost for a pod.
    /// </remarks>
    private bool TryDecodeInOnePass(ReadOnlySpan<byte> line, JsonTypeInfo<T> direct, out WatchEvent<T> decoded)
    {
        decoded = default!;

        // No more permissive than either of the scan's readers: the envelope's own (1024 deep, strict JSON) and the
        // object's (the options' depth, one level below the envelope).
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = Math.Min(ReaderOptions.MaxDepth, DirectDecoding.MaxDepth(direct.Options) + 1) });
        var type = EventType.None;
        T? obj = default;
        var haveObject = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (haveObject || reader.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }

                    type = ParseType(ref reader, out _);
                }
                else if (reader.ValueTextEquals("object"u8))
                {
                    reader.Read();
                    if (haveObject || type is not (EventType.Added or EventType.Modified or EventType.Deleted)
                        || !DirectDecoding.TryReadObject(direct, ref reader, out obj))
                    {
                        return false;
                    }

                    haveObject = true;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (!haveObject || reader.Read())
            {
                return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }

        var (kind, rv) = _identity!(obj!);
        if (kind is not null && _expectedKindText is not null && kind != _expectedKindText && kind != _alternateKindText)
        {
            return false;
        }

        decoded = new WatchEvent<T>(ObjectEventType(type), obj!, rv ?? string.Empty);
        return true;
    }

    // The public type of an event that carries an object (ADDED, MODIFIED or DELETED).
    private static WatchEventType ObjectEventType(EventType type) => type switch
    {
        EventType.Added => WatchEventType.Added,
        EventType.Modified => WatchEventType.Modified,
        _ => WatchEventType.Deleted,
    };

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
