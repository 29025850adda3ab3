using System.Net;
using System.Text;
using System.Text.Json;

namespace KubeConsistency.Http;

/// <summary>
/// Maps a <c>Status</c> body (or an HTTP status without one) to the typed exceptions, following client-go's
/// <c>apierrors</c>: a known reason decides, else the code (<c>reasonAndCodeForError</c>); bodies that are not
/// a Status get the reason and message of <c>NewGenericServerResponse</c>.
/// </summary>
internal static class StatusErrors
{
    /// <summary>Error bodies larger than this are not read further.</summary>
    internal const int MaxErrorBody = 1 << 20;

    /// <summary>Builds the exception for an HTTP error response.</summary>
    /// <param name="httpStatus">The HTTP status.</param>
    /// <param name="body">The (possibly truncated) body.</param>
    /// <param name="isTextBody">Whether the content type is textual (<c>text/*</c> or absent).</param>
    /// <param name="retryAfter">The <c>Retry-After</c> header in seconds.</param>
    /// <param name="method">The request method (a non-Status 409 on POST means AlreadyExists).</param>
    public static KubernetesApiException FromResponse(HttpStatusCode httpStatus, ReadOnlySpan<byte> body, bool isTextBody, TimeSpan? retryAfter, HttpMethod method)
    {
        if (TryParseStatus(body, out var status))
        {
            return FromStatus(status, httpStatus, retryAfter);
        }

        // Not a Status (e.g. the {"paths":[...]} listing of a 404 for an unknown group): client-go's NewGenericServerResponse.
        var serverMessage = isTextBody ? Encoding.UTF8.GetString(body.Length > 4096 ? body[..4096] : body).Trim() : "unknown";
        var code = (int)httpStatus;
        var (reason, message) = code switch
        {
            409 => (method == HttpMethod.Post ? "AlreadyExists" : "Conflict", "the server reported a conflict"),
            404 => ("NotFound", "the server could not find the requested resource"),
            400 => ("BadRequest", "the server rejected our request for an unknown reason"),
            401 => ("Unauthorized", "the server has asked for the client to provide credentials"),
            403 => ("Forbidden", serverMessage),
            406 => ("NotAcceptable", serverMessage is "" or "unknown" ? "the server was unable to respond with a content type that the client supports" : serverMessage),
            415 => ("UnsupportedMediaType", serverMessage),
            405 => ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
            422 => ("Invalid", "the server rejected our request due to an error in our request"),
            503 => ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504 => ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request"),
            429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
            >= 500 => ("InternalError", $"an error on the server (\"{serverMessage}\") has prevented the request from succeeding"),
            _ => (string.Empty, $"the server responded with the status code {code} but did not return more information"),
        };
        return Create(httpStatus, reason, message, retryAfter, null);
    }

    /// <summary>Builds the exception for a Status object (an error body, or a watch ERROR event's object).</summary>
    /// <param name="status">The Status.</param>
    /// <param name="fallbackCode">The code when the Status has none (the HTTP status; 500 for watch events).</param>
    /// <param name="retryAfterHeader">The <c>Retry-After</c> header, which wins over <c>details.retryAfterSeconds</c>.</param>
    public static KubernetesApiException FromStatus(JsonElement status, HttpStatusCode fallbackCode, TimeSpan? retryAfterHeader)
    {
        var code = status.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var ci) && ci != 0
            ? (HttpStatusCode)ci
            : fallbackCode;
        var reason = status.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() ?? string.Empty : string.Empty;
        var message = status.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? string.Empty : string.Empty;
        var retryAfter = retryAfterHeader;
        if (retryAfter is null &&
            status.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Object &&
            details.TryGetProperty("retryAfterSeconds", out var ras) && ras.ValueKind == JsonValueKind.Number &&
            ras.TryGetInt32(out var seconds) && seconds > 0)
        {
            retryAfter = TimeSpan.FromSeconds(seconds);
        }

        if (message.Length == 0)
        {
            message = $"the server responded with the status code {(int)code} ({reason}) but did not return more information";
        }

        return Create(code, reason, message, retryAfter, status);
    }

    /// <summary>Parses a body as a Status (<c>"kind":"Status"</c>); the element is detached from any buffer.</summary>
    public static bool TryParseStatus(ReadOnlySpan<byte> body, out JsonElement status)
    {
        status = default;
        if (body.IsEmpty)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            if (!JsonElement.TryParseValue(ref reader, out var parsed) || parsed is not { ValueKind: JsonValueKind.Object } element)
            {
                return false;
            }

            if (element.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.ValueEquals("Status"u8))
            {
                status = element;
                return true;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private static KubernetesApiException Create(HttpStatusCode code, string reason, string message, TimeSpan? retryAfter, JsonElement? status)
    {
        // The errors callers branch on get their own type; every other one is a KubernetesApiException whose Is…
        // predicates classify it (a known reason decides, else the code: apierrors.ReasonForError).
        var probe = new KubernetesApiException(code, reason, message, retryAfter, status);
        return probe.EffectiveReason switch
        {
            "NotFound" => new NotFoundException(code, reason, message, retryAfter, status),
            "AlreadyExists" => new AlreadyExistsException(code, reason, message, retryAfter, status),
            "Conflict" => new ConflictException(code, reason, message, retryAfter, status),
            "Expired" or "Gone" => new ResourceExpiredException(code, reason, message, retryAfter, status),
            _ => probe,
        };
    }
}
