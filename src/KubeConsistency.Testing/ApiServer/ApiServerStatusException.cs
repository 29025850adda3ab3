using System.Text.Json.Nodes;
using KubeConsistency.Testing.ApiServer;

namespace KubeConsistency.Testing;

/// <summary>
/// A request to <see cref="EmbeddedApiServer"/> failed the way kube-apiserver fails it: an HTTP status code and a
/// <c>Status</c> object. Thrown by <see cref="ApiObjectStore"/>; the HTTP path sends the same Status as its body.
/// </summary>
public sealed class ApiServerStatusException : Exception
{
    private readonly JsonObject _status;

    internal ApiServerStatusException(int code, string? reason, string message, JsonObject status, TimeSpan? retryAfter = null, bool indented = false)
        : base(message)
    {
        StatusCode = code;
        Reason = reason;
        _status = status;
        RetryAfter = retryAfter;
        Indented = indented;
    }

    /// <summary>Creates an exception with a Status of the given code, reason and message.</summary>
    /// <param name="statusCode">HTTP status code (also <c>Status.code</c>).</param>
    /// <param name="reason">Status reason, for example <c>Conflict</c>; <see langword="null"/> for none.</param>
    /// <param name="message">Status message.</param>
    public ApiServerStatusException(int statusCode, string? reason, string message)
        : this(statusCode, reason, message, StatusErrors.BuildStatus(statusCode, reason, message, details: null))
    {
    }

    /// <summary>Creates an exception with code 500 and the given message.</summary>
    public ApiServerStatusException()
        : this(500, "InternalError", "Internal error occurred")
    {
    }

    /// <summary>Creates an exception with code 500 and the given message.</summary>
    /// <param name="message">Status message.</param>
    public ApiServerStatusException(string message)
        : this(500, "InternalError", message)
    {
    }

    /// <summary>Creates an exception with code 500, the given message and an inner exception.</summary>
    /// <param name="message">Status message.</param>
    /// <param name="innerException">The cause.</param>
    public ApiServerStatusException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = 500;
        Reason = "InternalError";
        _status = StatusErrors.BuildStatus(500, "InternalError", message, details: null);
    }

    /// <summary>HTTP status code, equal to <c>Status.code</c>.</summary>
    public int StatusCode { get; }

    /// <summary><c>Status.reason</c> (for example <c>NotFound</c>, <c>Conflict</c>, <c>Expired</c>), or <see langword="null"/> when the Status has none.</summary>
    public string? Reason { get; }

    /// <summary>A copy of the <c>Status</c> object as kube-apiserver would send it.</summary>
    public JsonObject Status => (JsonObject)_status.DeepClone();

    internal JsonObject StatusNode => _status;

    internal TimeSpan? RetryAfter { get; }

    internal bool Indented { get; }
}
