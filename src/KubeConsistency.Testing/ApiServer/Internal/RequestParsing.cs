using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace KubeConsistency.Testing.ApiServer;

internal enum Representation
{
    Json,
    Table,
    PartialMetadata,

    /// <summary><c>as=PartialObjectMetadataList</c>: only list responses can take it (kube-apiserver answers 406 otherwise).</summary>
    PartialMetadataList,
    AggregatedV2,
    AggregatedV2Beta1,
}

internal enum RouteKind
{
    Root,
    Version,
    Health,
    ApiVersions,
    GroupList,
    Group,
    ResourceList,
    Resource,
    OpenApiRoot,
    OpenApiDocument,
    UnknownPath,
    UnknownResource,
}

/// <summary>A parsed request path (kube-apiserver's RequestInfo).</summary>
internal sealed record Route(RouteKind Kind)
{
    public string Group { get; init; } = "";

    public string Version { get; init; } = "";

    public string Plural { get; init; } = "";

    public string? Namespace { get; init; }

    public string? Name { get; init; }

    public string? SubresourceName { get; init; }

    public string OpenApiPath { get; init; } = "";

    public static Route Parse(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0)
        {
            return new Route(RouteKind.Root);
        }

        switch (segments[0])
        {
            case "version" when segments.Length == 1:
                return new Route(RouteKind.Version);
            case "healthz" or "livez" or "readyz":
                return new Route(RouteKind.Health);
            case "openapi" when segments.Length >= 2 && segments[1] == "v3":
                return segments.Length == 2
                    ? new Route(RouteKind.OpenApiRoot)
                    : new Route(RouteKind.OpenApiDocument) { OpenApiPath = string.Join('/', segments[2..]) };
            case "api":
                if (segments.Length == 1)
                {
                    return new Route(RouteKind.ApiVersions);
                }

                if (segments[1] != "v1")
                {
                    return new Route(RouteKind.UnknownPath);
                }

                return segments.Length == 2
                    ? new Route(RouteKind.ResourceList) { Version = "v1" }
                    : ParseResource("", "v1", segments[2..]);
            case "apis":
                return segments.Length switch
                {
                    1 => new Route(RouteKind.GroupList),
                    2 => new Route(RouteKind.Group) { Group = segments[1] },
                    3 => new Route(RouteKind.ResourceList) { Group = segments[1], Version = segments[2] },
                    _ => ParseResource(segments[1], segments[2], segments[3..]),
                };
            default:
                return new Route(RouteKind.UnknownPath);
        }
    }

    private static Route ParseResource(string group, string version, string[] parts)
    {
        string? ns = null;
        if (parts[0] == "namespaces" && parts.Length > 1)
        {
            if (parts.Length > 2 && parts[2] is not "status" and not "finalize")
            {
                ns = parts[1];
                parts = parts[2..];
            }
            else
            {
                return new Route(RouteKind.Resource)
                {
                    Group = group,
                    Version = version,
                    Plural = "namespaces",
                    Name = parts[1],
                    SubresourceName = parts.Length > 2 ? parts[2] : null,
                };
            }
        }

        if (parts.Length > 3)
        {
            return new Route(RouteKind.UnknownResource) { Group = group, Version = version };
        }

        return new Route(RouteKind.Resource)
        {
            Group = group,
            Version = version,
            Plural = parts[0],
            Namespace = ns,
            Name = parts.Length > 1 ? parts[1] : null,
            SubresourceName = parts.Length > 2 ? parts[2] : null,
        };
    }
}

/// <summary>Query parameter decoding with kube-apiserver's error shapes.</summary>
internal static class QueryParams
{
    public static string? String(IQueryCollection query, string name)
        => query.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    public static bool? Bool(IQueryCollection query, string name)
    {
        var value = String(query, name);
        return value switch
        {
            null or "" => null,
            "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
            "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
            _ => throw StatusErrors.BadRequest($"strconv.ParseBool: parsing \"{value}\": invalid syntax"),
        };
    }

    public static long? Int(IQueryCollection query, string name)
    {
        var value = String(query, name);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
            ? l
            : throw StatusErrors.BadRequest($"strconv.ParseInt: parsing \"{value}\": invalid syntax");
    }

    /// <summary>Parses a resourceVersion the way the storage layer does (500 on garbage, like the wire sample).</summary>
    public static long ParseResourceVersion(string value)
        => ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v <= long.MaxValue
            ? (long)v
            : throw StatusErrors.BadResourceVersion(value);
}

/// <summary>Accept-header negotiation for the representations served here.</summary>
internal static class ContentNegotiation
{
    public static Representation? Negotiate(string? accept, bool allowTable, bool allowAggregated)
    {
        if (string.IsNullOrWhiteSpace(accept))
        {
            return Representation.Json;
        }

        foreach (var range in accept.Split(','))
        {
            var parts = range.Split(';');
            var type = parts[0].Trim().ToLowerInvariant();
            string? asParam = null, g = null, v = null;
            var q = 1.0;
            foreach (var p in parts.Skip(1))
            {
                var eq = p.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    continue;
                }

                var key = p[..eq].Trim().ToLowerInvariant();
                var value = p[(eq + 1)..].Trim();
                switch (key)
                {
                    case "as": asParam = value; break;
                    case "g": g = value; break;
                    case "v": v = value; break;
                    case "q": _ = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out q); break;
                    default: break;
                }
            }

            if (q <= 0)
            {
                continue;
            }

            if (type is "*/*" or "*" or "application/*")
            {
                return Representation.Json;
            }

            if (type != "application/json")
            {
                continue;
            }

            if (asParam is null)
            {
                return Representation.Json;
            }

            if (allowTable && asParam == "Table" && g == "meta.k8s.io" && v is "v1" or "v1beta1")
            {
                return Representation.Table;
            }

            if (allowTable && asParam is "PartialObjectMetadata" or "PartialObjectMetadataList" && g == "meta.k8s.io" && v is "v1" or "v1beta1")
            {
                // Negotiation accepts either for any endpoint (scope.AllowsMediaTypeTransform); whether the response is
                // a list is checked when it is transformed (handlers/response.go asPartialObjectMetadata[List]).
                return asParam == "PartialObjectMetadata" ? Representation.PartialMetadata : Representation.PartialMetadataList;
            }

            if (allowAggregated && asParam == "APIGroupDiscoveryList" && g == "apidiscovery.k8s.io")
            {
                if (v == "v2")
                {
                    return Representation.AggregatedV2;
                }

                if (v == "v2beta1")
                {
                    return Representation.AggregatedV2Beta1;
                }
            }
        }

        return null;
    }

    /// <summary>kube-apiserver pretty-prints for curl, Wget and browsers, or with <c>?pretty=true</c>.</summary>
    public static bool Pretty(HttpRequest request)
    {
        var pretty = QueryParams.String(request.Query, "pretty");
        if (pretty is not null)
        {
            return pretty is "1" or "t" or "T" or "true" or "TRUE" or "True";
        }

        var agent = request.Headers.UserAgent.ToString();
        return agent.StartsWith("curl", StringComparison.Ordinal) || agent.StartsWith("Wget", StringComparison.Ordinal) || agent.StartsWith("Mozilla/5.0", StringComparison.Ordinal);
    }

    /// <summary>The default field manager: the User-Agent up to its first '/'.</summary>
    public static string Manager(HttpRequest request)
    {
        var manager = QueryParams.String(request.Query, "fieldManager");
        if (!string.IsNullOrEmpty(manager))
        {
            return manager;
        }

        var agent = request.Headers.UserAgent.ToString();
        var slash = agent.IndexOf('/', StringComparison.Ordinal);
        var prefix = slash >= 0 ? agent[..slash] : agent;
        return prefix.Length > 0 ? prefix : "unknown";
    }
}
