using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>One entry of <c>Status.details.causes</c>.</summary>
internal readonly record struct StatusCause(string Reason, string Message, string Field);

/// <summary>Builds the <c>Status</c> errors kube-apiserver sends (field order and wording as in the wire samples).</summary>
internal static class StatusErrors
{
    public static JsonObject BuildStatus(int code, string? reason, string? message, JsonObject? details, string? continueToken = null, bool success = false)
    {
        var metadata = new JsonObject();
        if (continueToken is not null)
        {
            metadata["continue"] = continueToken;
        }

        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = metadata,
            ["status"] = success ? "Success" : "Failure",
        };
        if (!string.IsNullOrEmpty(message))
        {
            status["message"] = message;
        }

        if (!string.IsNullOrEmpty(reason))
        {
            status["reason"] = reason;
        }

        if (details is not null)
        {
            status["details"] = details;
        }

        if (!success)
        {
            status["code"] = code;
        }

        return status;
    }

    public static JsonObject Details(string? name = null, string? group = null, string? kind = null, string? uid = null, IEnumerable<StatusCause>? causes = null, int? retryAfterSeconds = null)
    {
        var d = new JsonObject();
        if (!string.IsNullOrEmpty(name))
        {
            d["name"] = name;
        }

        if (!string.IsNullOrEmpty(group))
        {
            d["group"] = group;
        }

        if (!string.IsNullOrEmpty(kind))
        {
            d["kind"] = kind;
        }

        if (!string.IsNullOrEmpty(uid))
        {
            d["uid"] = uid;
        }

        if (causes is not null)
        {
            var arr = new JsonArray();
            foreach (var c in causes)
            {
                var o = new JsonObject();
                if (c.Reason.Length > 0)
                {
                    o["reason"] = c.Reason;
                }

                if (c.Message.Length > 0)
                {
                    o["message"] = c.Message;
                }

                if (c.Field.Length > 0)
                {
                    o["field"] = c.Field;
                }

                arr.Add(o);
            }

            d["causes"] = arr;
        }

        if (retryAfterSeconds is not null)
        {
            d["retryAfterSeconds"] = retryAfterSeconds.Value;
        }

        return d;
    }

    private static ApiServerStatusException Make(int code, string? reason, string message, JsonObject? details, string? continueToken = null, TimeSpan? retryAfter = null, bool indented = false)
        => new(code, reason, message, BuildStatus(code, reason, message, details, continueToken), retryAfter, indented);

    public static ApiServerStatusException NotFound(ApiResourceDefinition def, string name)
        => Make(404, "NotFound", $"{def.QualifiedResource} \"{name}\" not found", Details(name, def.Group, def.Plural));

    public static ApiServerStatusException NotFoundResource()
        => Make(404, "NotFound", "the server could not find the requested resource", new JsonObject());

    public static ApiServerStatusException AlreadyExists(ApiResourceDefinition def, string name)
        => Make(409, "AlreadyExists", $"{def.QualifiedResource} \"{name}\" already exists", Details(name, def.Group, def.Plural));

    public static ApiServerStatusException Conflict(ApiResourceDefinition def, string name, string detail)
        => Make(409, "Conflict", $"Operation cannot be fulfilled on {def.QualifiedResource} \"{name}\": {detail}", Details(name, def.Group, def.Plural));

    public const string ModifiedConflict = "the object has been modified; please apply your changes to the latest version and try again";

    public static ApiServerStatusException BadRequest(string message) => Make(400, "BadRequest", message, null);

    public static ApiServerStatusException MethodNotAllowed()
        => Make(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", new JsonObject());

    public static ApiServerStatusException NotAcceptable()
        => Make(406, "NotAcceptable", "406: Not Acceptable\n\nAvailable representations: application/json", new JsonObject(), indented: true);

    /// <summary>kube-apiserver's errNotAcceptable from a failed transform: a Status with no details.</summary>
    public static ApiServerStatusException NotAcceptable(string message) => Make(406, "NotAcceptable", message, null);

    public static ApiServerStatusException UnsupportedMediaType()
        => Make(415, "UnsupportedMediaType", "415: Unsupported Media Type", new JsonObject());

    public static ApiServerStatusException RequestEntityTooLarge(int limit)
        => Make(413, "RequestEntityTooLarge", $"Request entity too large: limit is {limit.ToString(CultureInfo.InvariantCulture)}", null);

    public static ApiServerStatusException Invalid(string kind, string group, string name, IReadOnlyList<StatusCause> causes)
    {
        var qualifiedKind = group.Length == 0 ? kind : kind + "." + group;
        string summary = causes.Count == 1
            ? CauseText(causes[0])
            : "[" + string.Join(", ", causes.Select(CauseText)) + "]";
        return Make(422, "Invalid", $"{qualifiedKind} \"{name}\" is invalid: {summary}", Details(name, group, kind, causes: causes));
    }

    private static string CauseText(StatusCause c) => c.Field.Length == 0 ? c.Message : c.Field + ": " + c.Message;

    public static ApiServerStatusException InvalidListOptions(IReadOnlyList<StatusCause> causes) => Invalid("ListOptions", "meta.k8s.io", "", causes);

    public static StatusCause Forbidden(string field, string detail) => new("FieldValueForbidden", "Forbidden: " + detail, field);

    public static StatusCause Required(string field, string detail) => new("FieldValueRequired", "Required value: " + detail, field);

    public static StatusCause InvalidValue(string field, string value, string detail)
        => new("FieldValueInvalid", $"Invalid value: \"{value}\": {detail}", field);

    public static StatusCause NotSupported(string field, string value, IEnumerable<string> supported)
        => new("FieldValueNotSupported", $"Unsupported value: \"{value}\": supported values: {string.Join(", ", supported.Select(s => "\"" + s + "\""))}", field);

    public static ApiServerStatusException Expired(string message, string? continueToken = null)
        => Make(410, "Expired", message, null, continueToken);

    public static ApiServerStatusException ExpiredWatch(long requested, long oldest)
        => Make(410, "Expired", $"too old resource version: {requested} ({oldest})", null);

    public static ApiServerStatusException TooLargeResourceVersion(long requested, long current)
        => Make(504, "Timeout", $"Timeout: Too large resource version: {requested}, current: {current}",
            Details(causes: [new StatusCause("ResourceVersionTooLarge", "Too large resource version", "")], retryAfterSeconds: 1),
            retryAfter: TimeSpan.FromSeconds(1));

    public static ApiServerStatusException BadResourceVersion(string value)
        => Make(500, null, $"resourceVersion: Invalid value: \"{value}\": strconv.ParseUint: parsing \"{value}\": invalid syntax", null);

    public static ApiServerStatusException InternalError(string message)
        => Make(500, "InternalError", "Internal error occurred: " + message, Details(causes: [new StatusCause("", message, "")]));

    public static ApiServerStatusException Injected(int code, TimeSpan? retryAfter)
    {
        var seconds = retryAfter is { } r ? (int)Math.Ceiling(r.TotalSeconds) : (int?)null;
        return code switch
        {
            429 => Make(429, "TooManyRequests", "Too many requests, please try again later.", Details(retryAfterSeconds: seconds ?? 1), retryAfter: retryAfter ?? TimeSpan.FromSeconds(1)),
            500 => Make(500, "InternalError", "Internal error occurred: injected fault", Details(causes: [new StatusCause("", "injected fault", "")], retryAfterSeconds: seconds), retryAfter: retryAfter),
            503 => Make(503, "ServiceUnavailable", "The server is currently unable to handle the request (injected fault)", Details(retryAfterSeconds: seconds), retryAfter: retryAfter),
            504 => Make(504, "Timeout", "Timeout: request did not complete within the allotted timeout (injected fault)", Details(retryAfterSeconds: seconds), retryAfter: retryAfter),
            409 => Make(409, "Conflict", "Operation cannot be fulfilled: injected conflict", new JsonObject(), retryAfter: retryAfter),
            _ => Make(code, null, "injected fault", Details(retryAfterSeconds: seconds), retryAfter: retryAfter),
        };
    }
}
