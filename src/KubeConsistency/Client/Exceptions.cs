using System.Net;
using System.Text.Json;

namespace KubeConsistency.Client;

/// <summary>Base of every failure this client reports about a request: API errors, transport failures and undecodable responses.</summary>
public class KubernetesClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KubernetesClientException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public KubernetesClientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public KubernetesClientException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The connection to the API server failed, or broke while a response was read (including a watch stream that
/// ended in the middle of the HTTP body). Distinct from a clean end of a watch, which ends the enumeration.
/// </summary>
public sealed class KubernetesTransportException : KubernetesClientException
{
    /// <summary>Creates the exception.</summary>
    public KubernetesTransportException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public KubernetesTransportException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The transport error (<see cref="IOException"/>, <see cref="System.Net.Http.HttpRequestException"/>, …).</param>
    public KubernetesTransportException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A successful response body could not be decoded (malformed JSON, an unexpected shape, or an unsupported content type).</summary>
public class KubernetesDecodeException : KubernetesClientException
{
    /// <summary>Creates the exception.</summary>
    public KubernetesDecodeException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public KubernetesDecodeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, typically a <see cref="JsonException"/>.</param>
    public KubernetesDecodeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A watch stream line could not be decoded: a truncated line, a line that is not JSON, an unknown event type,
/// an event without an object, or an object of an unexpected kind (for example a <c>Table</c>).
/// </summary>
public sealed class WatchDecodeException : KubernetesDecodeException
{
    /// <summary>At most this many characters of the offending line are kept in <see cref="Line"/>.</summary>
    public const int MaxLineLength = 1024;

    private const int MaxLineInMessage = 200;

    /// <summary>Creates the exception.</summary>
    public WatchDecodeException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public WatchDecodeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public WatchDecodeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a line.</summary>
    /// <param name="problem">What is wrong with the line.</param>
    /// <param name="line">The line (UTF-8); truncated to <see cref="MaxLineLength"/> characters.</param>
    /// <param name="innerException">The cause.</param>
    public WatchDecodeException(string problem, ReadOnlySpan<byte> line, Exception? innerException = null)
        : base(Describe(problem, line), innerException)
    {
        Line = Truncate(line, MaxLineLength);
        LineLength = line.Length;
    }

    /// <summary>The offending line, truncated to <see cref="MaxLineLength"/> characters; <see langword="null"/> when not about one line.</summary>
    public string? Line { get; }

    /// <summary>The full length of the offending line in bytes.</summary>
    public int LineLength { get; }

    private static string Describe(string problem, ReadOnlySpan<byte> line) =>
        line.IsEmpty
            ? $"Watch stream: {problem}."
            : $"Watch stream: {problem}. Line ({line.Length} bytes): {Truncate(line, MaxLineInMessage)}";

    private static string Truncate(ReadOnlySpan<byte> line, int max)
    {
        var bytes = line.Length > max ? line[..max] : line;
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        return line.Length > max ? text + "…" : text;
    }
}

/// <summary>One cause of an API error (Go: <c>metav1.StatusCause</c>).</summary>
/// <param name="Reason">The machine-readable cause, e.g. <c>FieldValueRequired</c> (Go: <c>Type</c>, JSON <c>reason</c>).</param>
/// <param name="Message">The human-readable description.</param>
/// <param name="Field">The field path, e.g. <c>metadata.name</c>.</param>
public sealed record StatusCause(string? Reason, string? Message, string? Field);

/// <summary>
/// The API server answered with an error (an HTTP error status, or a watch <c>ERROR</c> event), carrying the
/// server's <c>Status</c> (Go: <c>apierrors.StatusError</c>). The <c>Is…</c> predicates are client-go's
/// <c>apierrors.IsXxx</c>: a known Status reason decides, else the HTTP status code. The errors callers branch on most
/// have a type of their own: <see cref="NotFoundException"/>, <see cref="ConflictException"/>,
/// <see cref="AlreadyExistsException"/> and <see cref="ResourceExpiredException"/>.
/// </summary>
public class KubernetesApiException : KubernetesClientException
{
    /// <summary>Creates the exception.</summary>
    public KubernetesApiException()
        : this(HttpStatusCode.InternalServerError, null, "the server reported an error")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public KubernetesApiException(string message)
        : this(HttpStatusCode.InternalServerError, null, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public KubernetesApiException(string message, Exception? innerException)
        : this(HttpStatusCode.InternalServerError, null, message, innerException: innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The HTTP status (the Status <c>code</c>).</param>
    /// <param name="reason">The Status <c>reason</c>, e.g. <c>Conflict</c>.</param>
    /// <param name="message">The Status <c>message</c>.</param>
    /// <param name="retryAfter">The server's suggested delay (the <c>Retry-After</c> header or <c>details.retryAfterSeconds</c>).</param>
    /// <param name="status">The raw Status object, when the server sent one.</param>
    /// <param name="innerException">The cause.</param>
    public KubernetesApiException(HttpStatusCode statusCode, string? reason, string message, TimeSpan? retryAfter = null, JsonElement? status = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        Reason = string.IsNullOrEmpty(reason) ? null : reason;
        RetryAfter = retryAfter;
        Status = status;
        if (status is { ValueKind: JsonValueKind.Object } s && s.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Object)
        {
            Name = StringOf(details, "name");
            Group = StringOf(details, "group");
            Kind = StringOf(details, "kind");
            Uid = StringOf(details, "uid");
            if (details.TryGetProperty("causes", out var causes) && causes.ValueKind == JsonValueKind.Array)
            {
                var list = new List<StatusCause>(causes.GetArrayLength());
                foreach (var c in causes.EnumerateArray())
                {
                    if (c.ValueKind == JsonValueKind.Object)
                    {
                        list.Add(new StatusCause(StringOf(c, "reason"), StringOf(c, "message"), StringOf(c, "field")));
                    }
                }

                Causes = list;
            }
        }
    }

    /// <summary>The HTTP status code (the Status <c>code</c>; for a watch <c>ERROR</c> event, the code inside the Status).</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The Status <c>reason</c> (e.g. <c>Conflict</c>, <c>Expired</c>); <see langword="null"/> when the server gave none.</summary>
    public string? Reason { get; }

    /// <summary>The delay the server asked for: the <c>Retry-After</c> header, else <c>details.retryAfterSeconds</c>.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The raw Status object; <see langword="null"/> when the error body was not a Status.</summary>
    public JsonElement? Status { get; }

    /// <summary><c>details.name</c>: the object the error is about.</summary>
    public string? Name { get; }

    /// <summary><c>details.group</c>.</summary>
    public string? Group { get; }

    /// <summary><c>details.kind</c> (for most errors the plural resource name, e.g. <c>pods</c>).</summary>
    public string? Kind { get; }

    /// <summary><c>details.uid</c>.</summary>
    public string? Uid { get; }

    /// <summary><c>details.causes</c>: field-level causes, e.g. of a 422 Invalid.</summary>
    public IReadOnlyList<StatusCause> Causes { get; } = [];

    /// <summary>
    /// Whether a list or watch failed because its resource version is newer than the server's (Go:
    /// <c>apierrors.IsTooLargeResourceVersion</c>): a timeout whose causes include <c>ResourceVersionTooLarge</c>.
    /// The reflector then relists with an unset resource version (upstream-semantics.md §5.1).
    /// </summary>
    public bool IsTooLargeResourceVersion =>
        IsServerTimeout &&
        (Causes.Any(c => c.Reason == "ResourceVersionTooLarge") || Message.Contains("Too large resource version", StringComparison.Ordinal));

    /// <summary>
    /// The reason that classifies this error (Go: <c>apierrors.ReasonForError</c> with the status-code fallback of the
    /// <c>IsXxx</c> predicates): the Status reason when it is a known one, else the reason the HTTP status code stands for.
    /// </summary>
    public string EffectiveReason => Reason is { } r && KnownReasons.Contains(r) ? r : ReasonForCode((int)StatusCode);

    /// <summary>400 <c>BadRequest</c>: a malformed request, selector or continue token.</summary>
    public bool IsBadRequest => EffectiveReason == "BadRequest";

    /// <summary>401 <c>Unauthorized</c>: the credentials were missing or rejected.</summary>
    public bool IsUnauthorized => EffectiveReason == "Unauthorized";

    /// <summary>403 <c>Forbidden</c>: authenticated but not allowed (RBAC, admission).</summary>
    public bool IsForbidden => EffectiveReason == "Forbidden";

    /// <summary>404 <c>NotFound</c>.</summary>
    public bool IsNotFound => EffectiveReason == "NotFound";

    /// <summary>405 <c>MethodNotAllowed</c>: the verb is not supported for the resource (e.g. a watch-list on an old server).</summary>
    public bool IsMethodNotSupported => EffectiveReason == "MethodNotAllowed";

    /// <summary>409 <c>AlreadyExists</c>.</summary>
    public bool IsAlreadyExists => EffectiveReason == "AlreadyExists";

    /// <summary>409 <c>Conflict</c>: an optimistic-concurrency or precondition failure.</summary>
    public bool IsConflict => EffectiveReason == "Conflict";

    /// <summary>410 <c>Expired</c>/<c>Gone</c>: a resource version or continue token that is too old; relist.</summary>
    public bool IsResourceExpired => EffectiveReason is "Expired" or "Gone";

    /// <summary>422 <c>Invalid</c>: validation failed; see <see cref="Causes"/>.</summary>
    public bool IsInvalid => EffectiveReason == "Invalid";

    /// <summary>429 <c>TooManyRequests</c>: throttled; retry after <see cref="RetryAfter"/>.</summary>
    public bool IsTooManyRequests => EffectiveReason == "TooManyRequests";

    /// <summary>504 <c>Timeout</c> or <c>ServerTimeout</c>: the server could not finish in time.</summary>
    public bool IsServerTimeout => EffectiveReason is "Timeout" or "ServerTimeout";

    /// <summary>A 5xx server error (<c>InternalError</c>, <c>ServiceUnavailable</c>, timeouts).</summary>
    public bool IsServerError => (int)StatusCode is >= 500 and < 600;

    private static readonly HashSet<string> KnownReasons = new(StringComparer.Ordinal)
    {
        "BadRequest", "Unauthorized", "Forbidden", "NotFound", "MethodNotAllowed", "AlreadyExists", "Conflict", "Gone", "Expired",
        "Invalid", "TooManyRequests", "Timeout", "ServerTimeout", "InternalError", "ServiceUnavailable", "NotAcceptable",
        "UnsupportedMediaType", "RequestEntityTooLarge",
    };

    private static string ReasonForCode(int code) => code switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        504 => "Timeout",
        >= 500 and < 600 => "InternalError",
        _ => string.Empty,
    };

    private static string? StringOf(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>404 Not Found (reason <c>NotFound</c>): no such object, resource or API group.</summary>
public sealed class NotFoundException : KubernetesApiException
{
    /// <summary>Creates the exception.</summary>
    public NotFoundException()
        : this("the server could not find the requested resource")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public NotFoundException(string message)
        : base(HttpStatusCode.NotFound, "NotFound", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public NotFoundException(string message, Exception? innerException)
        : base(HttpStatusCode.NotFound, "NotFound", message, innerException: innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The status code.</param>
    /// <param name="reason">The reason.</param>
    /// <param name="message">The message.</param>
    /// <param name="retryAfter">The suggested delay.</param>
    /// <param name="status">The raw Status.</param>
    public NotFoundException(HttpStatusCode statusCode, string? reason, string message, TimeSpan? retryAfter, JsonElement? status)
        : base(statusCode, reason, message, retryAfter, status)
    {
    }
}

/// <summary>409 with reason <c>Conflict</c>: an update's resource version precondition failed (Go: <c>IsConflict</c>).</summary>
public sealed class ConflictException : KubernetesApiException
{
    /// <summary>Creates the exception.</summary>
    public ConflictException()
        : this("the server reported a conflict")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public ConflictException(string message)
        : base(HttpStatusCode.Conflict, "Conflict", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ConflictException(string message, Exception? innerException)
        : base(HttpStatusCode.Conflict, "Conflict", message, innerException: innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The status code.</param>
    /// <param name="reason">The reason.</param>
    /// <param name="message">The message.</param>
    /// <param name="retryAfter">The suggested delay.</param>
    /// <param name="status">The raw Status.</param>
    public ConflictException(HttpStatusCode statusCode, string? reason, string message, TimeSpan? retryAfter, JsonElement? status)
        : base(statusCode, reason, message, retryAfter, status)
    {
    }
}

/// <summary>409 with reason <c>AlreadyExists</c>: a create found an object with that name (Go: <c>IsAlreadyExists</c>; not a <see cref="ConflictException"/>, as in Go).</summary>
public sealed class AlreadyExistsException : KubernetesApiException
{
    /// <summary>Creates the exception.</summary>
    public AlreadyExistsException()
        : this("the object already exists")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public AlreadyExistsException(string message)
        : base(HttpStatusCode.Conflict, "AlreadyExists", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public AlreadyExistsException(string message, Exception? innerException)
        : base(HttpStatusCode.Conflict, "AlreadyExists", message, innerException: innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The status code.</param>
    /// <param name="reason">The reason.</param>
    /// <param name="message">The message.</param>
    /// <param name="retryAfter">The suggested delay.</param>
    /// <param name="status">The raw Status.</param>
    public AlreadyExistsException(HttpStatusCode statusCode, string? reason, string message, TimeSpan? retryAfter, JsonElement? status)
        : base(statusCode, reason, message, retryAfter, status)
    {
    }
}

/// <summary>
/// 410 Gone, or reason <c>Expired</c>/<c>Gone</c> (Go: <c>IsResourceExpired</c>/<c>IsGone</c>): a watch or list
/// resource version, or a list continue token, is older than the server keeps. Relist.
/// </summary>
public sealed class ResourceExpiredException : KubernetesApiException
{
    /// <summary>Creates the exception.</summary>
    public ResourceExpiredException()
        : this("the resource version is too old")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public ResourceExpiredException(string message)
        : base(HttpStatusCode.Gone, "Expired", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ResourceExpiredException(string message, Exception? innerException)
        : base(HttpStatusCode.Gone, "Expired", message, innerException: innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The status code.</param>
    /// <param name="reason">The reason.</param>
    /// <param name="message">The message.</param>
    /// <param name="retryAfter">The suggested delay.</param>
    /// <param name="status">The raw Status.</param>
    public ResourceExpiredException(HttpStatusCode statusCode, string? reason, string message, TimeSpan? retryAfter, JsonElement? status)
        : base(statusCode, reason, message, retryAfter, status)
    {
        if (status is { ValueKind: JsonValueKind.Object } s &&
            s.TryGetProperty("metadata", out var meta) && meta.ValueKind == JsonValueKind.Object &&
            meta.TryGetProperty("continue", out var token) && token.ValueKind == JsonValueKind.String)
        {
            Continue = token.GetString() is { Length: > 0 } t ? t : null;
        }
    }

    /// <summary>
    /// For a list whose continue token expired: the replacement token from the Status's <c>metadata.continue</c>.
    /// Continuing with it yields an <b>inconsistent</b> list (the rest is read at the current resource version).
    /// </summary>
    public string? Continue { get; }
}

