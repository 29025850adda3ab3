using System.Text.Json;
using System.Text.Json.Serialization;
using KubeConsistency.Http;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// Decodes <c>managedFields[].fieldsV1</c>, which KubernetesClient types <see cref="object"/>, to the boxed
/// <see cref="JsonElement"/> System.Text.Json gives an <see cref="object"/>, sharing one box for repeated field sets as
/// <see cref="DeduplicatingJsonElementConverter"/> does.
/// </summary>
internal sealed class DeduplicatingFieldsConverter : JsonConverter<object>
{
    public override object? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => DeduplicatingJsonElementConverter.ReadShared(ref reader);

    public override void Write(Utf8JsonWriter writer, object value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value is JsonElement element)
        {
            element.WriteTo(writer);
        }
        else
        {
            // What the serializer's own object converter does: the runtime type decides.
            JsonSerializer.Serialize(writer, value, value.GetType(), options);
        }
    }
}
