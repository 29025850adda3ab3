using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>
/// JSON output the way Go's <c>encoding/json</c> writes it: compact, <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c>, U+2028 and
/// U+2029 escaped as <c>\u003c</c> and so on, everything else unescaped; indented output with 2 spaces.
/// </summary>
internal static class GoJson
{
    private static readonly JsonWriterOptions s_compact = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private static readonly JsonWriterOptions s_indented = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = true,
        IndentSize = 2,
        NewLine = "\n",
    };

    internal static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    private static readonly SearchValues<byte> s_special = SearchValues.Create([(byte)'<', (byte)'>', (byte)'&', (byte)0xE2]);

    internal static JsonWriterOptions CompactOptions => s_compact;

    /// <summary>Serializes a node compactly with Go escaping.</summary>
    public static byte[] Serialize(JsonNode node)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, s_compact))
        {
            node.WriteTo(writer);
        }

        return Escape(buffer.WrittenSpan);
    }

    /// <summary>Serializes an object in kube-apiserver's field order (see <see cref="Meta.WriteNormalized"/>), compact, Go escaping.</summary>
    public static byte[] SerializeNormalized(JsonObject obj, ApiResourceDefinition def, out int bodyOffset)
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var writer = new Utf8JsonWriter(buffer, s_compact))
        {
            bodyOffset = Meta.WriteNormalized(writer, obj, def);
        }

        // The kind/apiVersion prefix never needs escaping, so the offset survives Escape.
        return Escape(buffer.WrittenSpan);
    }

    /// <summary>Serializes a node with 2-space indentation and Go escaping (no trailing newline).</summary>
    public static byte[] SerializeIndented(JsonNode node)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, s_indented))
        {
            node.WriteTo(writer);
        }

        return Escape(buffer.WrittenSpan);
    }

    /// <summary>Writes with a callback into a compact buffer and returns Go-escaped bytes.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, s_compact))
        {
            write(writer);
        }

        return Escape(buffer.WrittenSpan);
    }

    /// <summary>Re-indents compact JSON (Go escaping kept).</summary>
    public static byte[] Indent(ReadOnlySpan<byte> json)
    {
        var buffer = new ArrayBufferWriter<byte>(json.Length * 2);
        using (var writer = new Utf8JsonWriter(buffer, s_indented))
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject: writer.WriteStartObject(); break;
                    case JsonTokenType.EndObject: writer.WriteEndObject(); break;
                    case JsonTokenType.StartArray: writer.WriteStartArray(); break;
                    case JsonTokenType.EndArray: writer.WriteEndArray(); break;
                    case JsonTokenType.PropertyName:
                        if (reader.ValueIsEscaped)
                        {
                            writer.WritePropertyName(reader.GetString()!);
                        }
                        else
                        {
                            writer.WritePropertyName(reader.ValueSpan);
                        }

                        break;
                    case JsonTokenType.String:
                        if (reader.ValueIsEscaped)
                        {
                            writer.WriteStringValue(reader.GetString());
                        }
                        else
                        {
                            writer.WriteStringValue(reader.ValueSpan);
                        }

                        break;
                    case JsonTokenType.Number: writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true); break;
                    case JsonTokenType.True: writer.WriteBooleanValue(true); break;
                    case JsonTokenType.False: writer.WriteBooleanValue(false); break;
                    case JsonTokenType.Null: writer.WriteNullValue(); break;
                    default: break;
                }
            }
        }

        return Escape(buffer.WrittenSpan);
    }

    /// <summary>Applies Go's HTML-safe escaping to JSON text produced by the relaxed encoder.</summary>
    public static byte[] Escape(ReadOnlySpan<byte> json)
    {
        var first = json.IndexOfAny(s_special);
        if (first < 0)
        {
            return json.ToArray();
        }

        var output = new ArrayBufferWriter<byte>(json.Length + 32);
        output.Write(json[..first]);
        for (var i = first; i < json.Length; i++)
        {
            var b = json[i];
            switch (b)
            {
                case (byte)'<': output.Write("\\u003c"u8); break;
                case (byte)'>': output.Write("\\u003e"u8); break;
                case (byte)'&': output.Write("\\u0026"u8); break;
                case 0xE2 when i + 2 < json.Length && json[i + 1] == 0x80 && (json[i + 2] == 0xA8 || json[i + 2] == 0xA9):
                    output.Write(json[i + 2] == 0xA8 ? "\\u2028"u8 : "\\u2029"u8);
                    i += 2;
                    break;
                default:
                    var next = json[(i + 1)..].IndexOfAny(s_special);
                    var end = next < 0 ? json.Length : i + 1 + next;
                    output.Write(json[i..end]);
                    i = end - 1;
                    break;
            }
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>Parses a request body into an object node; materializes it so duplicate keys fail here.</summary>
    public static JsonObject ParseObject(ReadOnlyMemory<byte> body)
    {
        var node = JsonNode.Parse(body.Span, documentOptions: DocumentOptions) ?? throw new JsonException("null is not an object");
        if (node is not JsonObject obj)
        {
            throw new JsonException("cannot unmarshal " + DescribeKind(node) + " into Go value of type struct");
        }

        Materialize(obj);
        return obj;
    }

    /// <summary>Parses stored (known-good) JSON bytes.</summary>
    public static JsonObject ParseStored(ReadOnlySpan<byte> json) => (JsonObject)JsonNode.Parse(json, documentOptions: DocumentOptions)!;

    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var kv in o)
                {
                    Materialize(kv.Value);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Materialize(item);
                }

                break;
            default:
                break;
        }
    }

    private static string DescribeKind(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => "value",
    };

    /// <summary>Describes a JSON syntax error the way Go's <c>encoding/json</c> does, as far as that is practical.</summary>
    public static string DescribeSyntaxError(ReadOnlySpan<byte> body, JsonException error)
    {
        if (error.BytePositionInLine is null)
        {
            return error.Message;
        }

        // Locate the byte offset of the error (line-relative positions from System.Text.Json).
        var line = (int)(error.LineNumber ?? 0);
        var offset = 0;
        for (var l = 0; l < line && offset < body.Length; l++)
        {
            var nl = body[offset..].IndexOf((byte)'\n');
            if (nl < 0)
            {
                offset = body.Length;
                break;
            }

            offset += nl + 1;
        }

        offset += (int)error.BytePositionInLine.Value;
        while (offset < body.Length && (body[offset] == ' ' || body[offset] == '\n' || body[offset] == '\r' || body[offset] == '\t'))
        {
            offset++;
        }

        if (offset >= body.Length)
        {
            return "unexpected end of JSON input";
        }

        var c = body[offset];
        string shown = c switch
        {
            (byte)'\'' => "'\\''",
            (byte)'"' => "'\"'",
            < 0x20 or >= 0x7F => "'\\u" + ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture) + "'",
            _ => "'" + (char)c + "'",
        };
        return "invalid character " + shown + " looking for beginning of value";
    }

    /// <summary>Go's <c>summarizeData(body, 30)</c> used in decode error messages.</summary>
    public static string Summarize(ReadOnlySpan<byte> data, int maxLength = 30)
    {
        if (data.Length == 0)
        {
            return "<empty>";
        }

        if (data[0] == (byte)'{')
        {
            return data.Length > maxLength ? Encoding.UTF8.GetString(data[..maxLength]) + " ..." : Encoding.UTF8.GetString(data);
        }

        return data.Length > maxLength ? Convert.ToHexStringLower(data[..maxLength]) + " ..." : Convert.ToHexStringLower(data);
    }
}
