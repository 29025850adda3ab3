using System.Buffers;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>The HTTP protocol of kube-apiserver over <see cref="ApiStore"/>: routing, negotiation, list/get/write handlers and Status errors.</summary>
internal sealed class RequestHandler
{
    private const int FlushThreshold = 64 * 1024;

    private readonly ApiStore _store;
    private readonly ApiServerFaults _faults;
    private readonly Discovery _discovery;
    private readonly EmbeddedApiServerOptions _options;
    private readonly ILogger _logger;
    private readonly Func<CancellationToken> _stopping;

    public RequestHandler(ApiStore store, ApiServerFaults faults, Discovery discovery, EmbeddedApiServerOptions options, ILogger logger, Func<CancellationToken> stopping)
    {
        _store = store;
        _faults = faults;
        _discovery = discovery;
        _options = options;
        _logger = logger;
        _stopping = stopping;
    }

    private TimeProvider Time => _options.TimeProvider;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Path.Value ?? "/";
        response.Headers["Audit-Id"] = Guid.NewGuid().ToString();
        response.Headers.CacheControl = "no-cache, private";
        ResponseCompression.Negotiate(context, _options.ResponseCompression, Compression);
        if (Stopping.IsCancellationRequested)
        {
            // Shutting down: this connection is not to be kept alive.
            response.Headers.Connection = "close";
        }

        var pretty = false;
        try
        {
            pretty = ContentNegotiation.Pretty(request);
            var route = Route.Parse(path);
            var info = Describe(request.Method, path, route, request.Query);
            if (info.IsResourceRequest)
            {
                _faults.CountRequest(info);
            }

            if (_faults.TryInjectFailure(info) is { } injected)
            {
                Log.InjectedFault(_logger, request.Method, path, injected.StatusCode);
                throw injected;
            }

            await DispatchAsync(context, route, pretty).ConfigureAwait(false);
        }
        catch (ApiServerStatusException e)
        {
            if (!response.HasStarted)
            {
                await WriteStatusAsync(context, e, pretty).ConfigureAwait(false);
            }
            else
            {
                // Never end a half-written body as if it were complete.
                context.Abort();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e)
        {
            Log.UnexpectedError(_logger, e, request.Method, path);
            if (!response.HasStarted)
            {
                await WriteStatusAsync(context, StatusErrors.InternalError(e.Message), pretty).ConfigureAwait(false);
            }
            else
            {
                context.Abort();
            }
        }

        Log.Request(_logger, request.Method, path, response.StatusCode);
    }

    private static ApiRequestInfo Describe(string method, string path, Route route, IQueryCollection query)
    {
        if (route.Kind != RouteKind.Resource)
        {
            return new ApiRequestInfo(method, path, method.ToLowerInvariant(), "", "", null, null, null);
        }

        var isWatch = false;
        try
        {
            isWatch = QueryParams.Bool(query, "watch") == true;
        }
        catch (ApiServerStatusException)
        {
            // reported by the handler
        }

        var verb = (method, route.Name is null) switch
        {
            ("GET", true) => isWatch ? "watch" : "list",
            ("GET", false) => isWatch ? "watch" : "get",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", true) => "deletecollection",
            ("DELETE", false) => "delete",
            _ => method.ToLowerInvariant(),
        };
        return new ApiRequestInfo(method, path, verb, route.Group, route.Plural, route.Namespace, route.Name, route.SubresourceName);
    }

    private async Task DispatchAsync(HttpContext context, Route route, bool pretty)
    {
        var request = context.Request;
        switch (route.Kind)
        {
            case RouteKind.Version:
                await WriteBytesAsync(context, 200, Discovery.VersionDocument, "application/json", appendNewline: false).ConfigureAwait(false);
                return;
            case RouteKind.Health:
                await WriteBytesAsync(context, 200, "ok"u8.ToArray(), "text/plain; charset=utf-8", appendNewline: false).ConfigureAwait(false);
                return;
            case RouteKind.Root:
                await WritePathIndexAsync(context, 200).ConfigureAwait(false);
                return;
            case RouteKind.UnknownPath:
                await WritePathIndexAsync(context, 404).ConfigureAwait(false);
                return;
            case RouteKind.UnknownResource when _store.Resources.Any(r => r.Definition.Group == route.Group && r.Definition.Version == route.Version):
                throw StatusErrors.NotFoundResource();
            case RouteKind.UnknownResource:
                await WritePathIndexAsync(context, 404).ConfigureAwait(false);
                return;
            case RouteKind.ApiVersions or RouteKind.GroupList:
                {
                    RequireGet(request);
                    var rep = ContentNegotiation.Negotiate(request.Headers.Accept.ToString(), allowTable: false, allowAggregated: true) ?? throw StatusErrors.NotAcceptable();
                    if (rep is Representation.AggregatedV2 or Representation.AggregatedV2Beta1)
                    {
                        var version = rep == Representation.AggregatedV2 ? "v2" : "v2beta1";
                        await WriteAggregatedAsync(context, _discovery.Aggregated(route.Kind == RouteKind.ApiVersions, version), version, pretty).ConfigureAwait(false);
                        return;
                    }

                    await WriteJsonAsync(context, 200, route.Kind == RouteKind.ApiVersions ? _discovery.ApiVersions() : _discovery.GroupList(), pretty).ConfigureAwait(false);
                    return;
                }

            case RouteKind.Group or RouteKind.ResourceList:
                {
                    RequireGet(request);
                    var doc = route.Kind == RouteKind.Group ? _discovery.Group(route.Group) : _discovery.ResourceList(route.Group, route.Version);
                    if (doc is null)
                    {
                        await WritePathIndexAsync(context, 404).ConfigureAwait(false);
                        return;
                    }

                    NegotiateJson(request);
                    await WriteJsonAsync(context, 200, doc, pretty).ConfigureAwait(false);
                    return;
                }

            case RouteKind.OpenApiRoot:
                {
                    RequireGet(request);
                    var doc = _discovery.OpenApiRoot();
                    var etag = Discovery.ETag(doc);
                    context.Response.Headers.ETag = etag;
                    if (request.Headers.IfNoneMatch.ToString() == etag)
                    {
                        context.Response.StatusCode = 304;
                        return;
                    }

                    await WriteJsonAsync(context, 200, doc, pretty).ConfigureAwait(false);
                    return;
                }

            case RouteKind.OpenApiDocument:
                {
                    RequireGet(request);
                    var doc = _discovery.OpenApiGroupVersion(route.OpenApiPath);
                    if (doc is null)
                    {
                        await WritePathIndexAsync(context, 404).ConfigureAwait(false);
                        return;
                    }

                    context.Response.Headers.ETag = Discovery.ETag(doc);
                    if (request.Query.ContainsKey("hash"))
                    {
                        context.Response.Headers.CacheControl = "public, immutable";
                    }

                    await WriteJsonAsync(context, 200, doc, pretty).ConfigureAwait(false);
                    return;
                }

            default:
                await HandleResourceAsync(context, route, pretty).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>kube-apiserver's answer for the root and for paths it does not serve: the JSON list of served paths.</summary>
    private Task WritePathIndexAsync(HttpContext context, int status) =>
        WriteBytesAsync(context, status, _discovery.PathIndex(), "application/json", appendNewline: false);

    private static void RequireGet(HttpRequest request)
    {
        if (request.Method != "GET")
        {
            throw StatusErrors.MethodNotAllowed();
        }
    }

    private static void NegotiateJson(HttpRequest request)
    {
        if (ContentNegotiation.Negotiate(request.Headers.Accept.ToString(), allowTable: false, allowAggregated: false) is null)
        {
            throw StatusErrors.NotAcceptable();
        }
    }

    // ------------------------------------------------------------------ resources

    private async Task HandleResourceAsync(HttpContext context, Route route, bool pretty)
    {
        var request = context.Request;
        if (!_store.Resources.Any(r => r.Definition.Group == route.Group && r.Definition.Version == route.Version))
        {
            // A group-version that is not served at all falls through to the path index, like kube-apiserver's NotFound handler.
            await WritePathIndexAsync(context, 404).ConfigureAwait(false);
            return;
        }

        var state = _store.Find(route.Group, route.Plural);
        if (state is null || state.Definition.Version != route.Version)
        {
            throw StatusErrors.NotFoundResource();
        }

        var def = state.Definition;
        if (route.Namespace is not null && !def.Namespaced)
        {
            throw StatusErrors.NotFoundResource();
        }

        var sub = route.SubresourceName switch
        {
            null => Subresource.None,
            "status" when def.HasStatusSubresource => Subresource.Status,
            "scale" when def.HasScaleSubresource => Subresource.Scale,
            _ => throw StatusErrors.NotFoundResource(),
        };

        if (route.Name is null)
        {
            // Collection: cluster-wide paths of namespaced resources only support list and watch.
            if (def.Namespaced && route.Namespace is null && request.Method != "GET")
            {
                throw StatusErrors.MethodNotAllowed();
            }

            switch (request.Method)
            {
                case "GET":
                    await HandleListOrWatchAsync(context, state, route.Namespace, pretty).ConfigureAwait(false);
                    return;
                case "POST":
                    await HandleCreateAsync(context, state, route.Namespace, pretty).ConfigureAwait(false);
                    return;
                case "DELETE":
                    await HandleDeleteCollectionAsync(context, state, route.Namespace, pretty).ConfigureAwait(false);
                    return;
                default:
                    throw StatusErrors.MethodNotAllowed();
            }
        }

        if (def.Namespaced && route.Namespace is null)
        {
            throw StatusErrors.NotFoundResource();
        }

        var ns = route.Namespace ?? "";
        switch (request.Method, sub)
        {
            case ("GET", _):
                await HandleGetAsync(context, state, ns, route.Name, sub, pretty).ConfigureAwait(false);
                return;
            case ("PUT", _):
                await HandleUpdateAsync(context, state, ns, route.Name, sub, pretty).ConfigureAwait(false);
                return;
            case ("PATCH", _):
                await HandlePatchAsync(context, state, ns, route.Name, sub, pretty).ConfigureAwait(false);
                return;
            case ("DELETE", Subresource.None):
                await HandleDeleteAsync(context, state, ns, route.Name, pretty).ConfigureAwait(false);
                return;
            default:
                throw StatusErrors.MethodNotAllowed();
        }
    }

    private static Representation NegotiateResource(HttpRequest request)
        => ContentNegotiation.Negotiate(request.Headers.Accept.ToString(), allowTable: true, allowAggregated: false) ?? throw StatusErrors.NotAcceptable();

    /// <summary>
    /// A single object as the negotiated representation (transformResponseObject, used by GET and every write):
    /// <c>as=PartialObjectMetadata</c> gives its metadata; <c>as=PartialObjectMetadataList</c> cannot describe one object.
    /// </summary>
    private static byte[] ObjectResponse(Representation rep, ResourceState state, StoredObject obj) => rep switch
    {
        Representation.PartialMetadata => obj.PartialMetadataJson(),
        Representation.PartialMetadataList => throw StatusErrors.NotAcceptable(
            $"you requested PartialObjectMetadataList, but the requested object is not a list ({GoTypeName(state, list: false)})"),
        _ => obj.Json,
    };

    /// <summary>The Go type of the object kube-apiserver transforms (the internal version, or unstructured for custom resources).</summary>
    private static string GoTypeName(ResourceState state, bool list)
    {
        var def = state.Definition;
        if (state.Behavior.Unstructured)
        {
            return list ? "*unstructured.UnstructuredList" : "*unstructured.Unstructured";
        }

        var package = def.Group.Length == 0 ? "core" : def.Group.Split('.')[0];
        return "*" + package + "." + def.Kind + (list ? "List" : "");
    }

    private static void RejectDryRun(HttpRequest request)
    {
        if (request.Query.ContainsKey("dryRun"))
        {
            throw StatusErrors.BadRequest("dryRun is not supported by the embedded API server");
        }
    }

    private async Task HandleGetAsync(HttpContext context, ResourceState state, string ns, string name, Subresource sub, bool pretty)
    {
        var rep = NegotiateResource(context.Request);
        if (sub == Subresource.None && QueryParams.Bool(context.Request.Query, "watch") == true)
        {
            // Deprecated GET …/pods/name?watch=true: a watch restricted to that name.
            await HandleListOrWatchAsync(context, state, state.Definition.Namespaced ? ns : null, pretty, name).ConfigureAwait(false);
            return;
        }

        var obj = state.Get(StoredObject.MakeKey(ns, name)) ?? throw StatusErrors.NotFound(state.Definition, name);
        if (sub == Subresource.Scale)
        {
            await WriteJsonAsync(context, 200, GoJson.Serialize(ToScale(obj)), pretty).ConfigureAwait(false);
            return;
        }

        if (rep is Representation.PartialMetadata or Representation.PartialMetadataList)
        {
            await WriteJsonAsync(context, 200, ObjectResponse(rep, state, obj), pretty).ConfigureAwait(false);
            return;
        }

        if (rep == Representation.Table)
        {
            var node = obj.ToNode();
            var table = new JsonObject
            {
                ["kind"] = "Table",
                ["apiVersion"] = "meta.k8s.io/v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = obj.ResourceVersion.ToString(CultureInfo.InvariantCulture) },
                ["columnDefinitions"] = Tables.ColumnDefinitions(state.Definition),
                ["rows"] = new JsonArray { Tables.Row(state.Definition, node, Time.GetUtcNow(), IncludeObject(context.Request)) },
            };
            await WriteJsonAsync(context, 200, GoJson.Serialize(table), pretty).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, 200, obj.Json, pretty).ConfigureAwait(false);
    }

    private static string IncludeObject(HttpRequest request) => QueryParams.String(request.Query, "includeObject") ?? "Metadata";

    // ------------------------------------------------------------------ list

    private async Task HandleListOrWatchAsync(HttpContext context, ResourceState state, string? ns, bool pretty, string? name = null)
    {
        var query = context.Request.Query;
        var rep = NegotiateResource(context.Request);
        var watch = QueryParams.Bool(query, "watch") == true;
        LabelSelector labels;
        FieldSelector fields;
        try
        {
            labels = LabelSelector.Parse(QueryParams.String(query, "labelSelector"));
        }
        catch (FormatException e)
        {
            throw StatusErrors.BadRequest(e.Message);
        }

        try
        {
            var fieldSelector = QueryParams.String(query, "fieldSelector");
            if (name is not null)
            {
                fieldSelector = string.IsNullOrEmpty(fieldSelector) ? "metadata.name=" + name : fieldSelector + ",metadata.name=" + name;
            }

            fields = FieldSelector.Parse(fieldSelector, state.Definition);
        }
        catch (FormatException e)
        {
            throw StatusErrors.BadRequest(e.Message);
        }

        var rv = QueryParams.String(query, "resourceVersion") ?? "";
        var match = QueryParams.String(query, "resourceVersionMatch") ?? "";
        var continueToken = QueryParams.String(query, "continue") ?? "";
        var limit = QueryParams.Int(query, "limit") ?? 0;
        var sendInitialEvents = QueryParams.Bool(query, "sendInitialEvents");
        var allowBookmarks = QueryParams.Bool(query, "allowWatchBookmarks") == true;
        var timeoutSeconds = QueryParams.Int(query, "timeoutSeconds");

        if (watch)
        {
            ValidateWatchOptions(match, sendInitialEvents, continueToken);
            var stream = new WatchStream(this, context, state, ns, labels, fields, rep, allowBookmarks, sendInitialEvents, timeoutSeconds);
            await stream.RunAsync(rv).ConfigureAwait(false);
            return;
        }

        ValidateListOptions(rv, match, continueToken, sendInitialEvents);
        await ListAsync(context, state, ns, labels, fields, rep, rv, match, continueToken, limit, pretty).ConfigureAwait(false);
    }

    private static void ValidateListOptions(string rv, string match, string continueToken, bool? sendInitialEvents)
    {
        var causes = new List<StatusCause>();
        if (match.Length > 0)
        {
            if (rv.Length == 0)
            {
                causes.Add(StatusErrors.Forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"));
            }

            if (continueToken.Length > 0)
            {
                causes.Add(StatusErrors.Forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"));
            }

            if (match is not "Exact" and not "NotOlderThan")
            {
                causes.Add(StatusErrors.NotSupported("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]));
            }

            if (match == "Exact" && rv == "0")
            {
                causes.Add(StatusErrors.Forbidden("resourceVersionMatch", "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""));
            }
        }

        if (sendInitialEvents is not null)
        {
            causes.Add(StatusErrors.Forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"));
        }

        if (causes.Count > 0)
        {
            throw StatusErrors.InvalidListOptions(causes);
        }
    }

    private static void ValidateWatchOptions(string match, bool? sendInitialEvents, string continueToken)
    {
        var causes = new List<StatusCause>();
        if (sendInitialEvents is not null && match != "NotOlderThan")
        {
            causes.Add(StatusErrors.Forbidden("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
        }

        if (match.Length > 0)
        {
            if (sendInitialEvents is null)
            {
                causes.Add(StatusErrors.Forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"));
            }

            if (match != "NotOlderThan")
            {
                causes.Add(StatusErrors.NotSupported("resourceVersionMatch", match, ["NotOlderThan"]));
            }

            if (continueToken.Length > 0)
            {
                causes.Add(StatusErrors.Forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"));
            }
        }

        if (causes.Count > 0)
        {
            throw StatusErrors.InvalidListOptions(causes);
        }
    }

    /// <summary>Waits (bounded) for a future resourceVersion, then 504 ResourceVersionTooLarge like the watch cache.</summary>
    internal async Task EnsureRevisionAsync(long rv, CancellationToken cancellationToken)
    {
        if (rv <= _store.Revision)
        {
            return;
        }

        if (!await _store.WaitForRevisionAsync(rv, _options.FutureResourceVersionWait, cancellationToken).ConfigureAwait(false))
        {
            throw StatusErrors.TooLargeResourceVersion(rv, _store.Revision);
        }
    }

    private async Task ListAsync(HttpContext context, ResourceState state, string? ns, LabelSelector labels, FieldSelector fields, Representation rep,
        string rvParam, string match, string continueToken, long limit, bool pretty)
    {
        ImmutableList<StoredObject> items;
        long rv;
        string? startKey = null;
        var ct = context.RequestAborted;
        if (continueToken.Length > 0)
        {
            if (rvParam.Length > 0)
            {
                throw StatusErrors.BadRequest("specifying resource version is not allowed when using continue");
            }

            var (tokenRv, start) = ContinueToken.Decode(continueToken);
            startKey = ContinueToken.ToStorageKey(start, ns);
            if (tokenRv == -1)
            {
                (items, rv) = _store.Current(state);
            }
            else if (tokenRv < 0)
            {
                throw StatusErrors.BadRequest("invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
            }
            else
            {
                rv = tokenRv;
                items = _store.At(state, tokenRv) ?? throw StatusErrors.Expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    ContinueToken.Encode(-1, start.StartsWith('/') ? start[1..] : start));
            }
        }
        else if (rvParam.Length == 0 || rvParam == "0")
        {
            if (rvParam == "0")
            {
                limit = 0; // served from the watch cache: limit is ignored (wire: pods-limit2-rv0.json)
            }

            (items, rv) = _store.Current(state);
        }
        else
        {
            var requested = QueryParams.ParseResourceVersion(rvParam);
            await EnsureRevisionAsync(requested, ct).ConfigureAwait(false);
            if (match == "Exact")
            {
                rv = requested;
                items = _store.At(state, requested) ?? throw StatusErrors.Expired("The resourceVersion for the provided list is too old.");
            }
            else
            {
                (items, rv) = _store.Current(state);
            }
        }

        // Locate the key range of the request (namespace prefix) and the start (continue) position.
        var prefix = ns is null ? null : ns + "/";
        var begin = LowerBound(items, startKey is not null && (prefix is null || string.CompareOrdinal(startKey, prefix) > 0) ? startKey : prefix ?? "");
        var end = prefix is null ? items.Count : LowerBound(items, ns + "0");
        var rvText = rv.ToString(CultureInfo.InvariantCulture);
        var selected = new List<StoredObject>(limit > 0 ? (int)Math.Min(limit, 10_000) : Math.Min(end - begin, 10_000));
        string? next = null;
        long? remaining = null;
        var filtered = !labels.IsEverything || !fields.IsEverything;
        for (var i = begin; i < end; i++)
        {
            var o = items[i];
            if (filtered && !(labels.Matches(o.Labels) && fields.Matches(o)))
            {
                continue;
            }

            selected.Add(o);
            if (limit > 0 && selected.Count == limit && i + 1 < end)
            {
                next = ContinueToken.Encode(rv, ContinueToken.StartAfter(ns is null ? o.Key : o.Name));
                if (!filtered)
                {
                    remaining = end - i - 1;
                }

                _store.RememberSnapshot(state, rv, items);
                break;
            }
        }

        if (rep == Representation.Table)
        {
            var now = Time.GetUtcNow();
            var include = IncludeObject(context.Request);
            var rows = new JsonArray();
            foreach (var o in selected)
            {
                rows.Add(Tables.Row(state.Definition, o.ToNode(), now, include));
            }

            var table = new JsonObject
            {
                ["kind"] = "Table",
                ["apiVersion"] = "meta.k8s.io/v1",
                ["metadata"] = Tables.ListMeta(rvText, next, remaining),
                ["columnDefinitions"] = Tables.ColumnDefinitions(state.Definition),
                ["rows"] = rows,
            };
            await WriteJsonAsync(context, 200, GoJson.Serialize(table), pretty).ConfigureAwait(false);
            return;
        }

        if (rep == Representation.PartialMetadata)
        {
            throw StatusErrors.NotAcceptable($"you requested PartialObjectMetadata, but the requested object is a list ({GoTypeName(state, list: true)})");
        }

        var metadataOnly = rep == Representation.PartialMetadataList;
        var header = GoJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("kind", metadataOnly ? "PartialObjectMetadataList" : state.Definition.Kind + "List");
            w.WriteString("apiVersion", metadataOnly ? "meta.k8s.io/v1" : state.Definition.ApiVersion);
            w.WriteStartObject("metadata");
            w.WriteString("resourceVersion", rvText);
            if (next is not null)
            {
                w.WriteString("continue", next);
            }

            if (remaining is not null)
            {
                w.WriteNumber("remainingItemCount", remaining.Value);
            }

            w.WriteEndObject();
            if (metadataOnly && selected.Count == 0)
            {
                // PartialObjectMetadataList.Items has no omitempty and is only appended to: an empty one encodes as null.
                w.WriteNull("items");
            }
            else
            {
                w.WriteStartArray("items");
                w.WriteEndArray();
            }

            w.WriteEndObject();
        });

        if (metadataOnly && selected.Count == 0)
        {
            await WriteJsonAsync(context, 200, header, pretty).ConfigureAwait(false);
            return;
        }

        // header ends with "[]}": items are spliced in before "]}".
        var head = header.AsMemory(0, header.Length - 2);
        if (pretty)
        {
            var buffer = new ArrayBufferWriter<byte>();
            WriteList(buffer, head.Span, selected, metadataOnly);
            await WriteJsonAsync(context, 200, buffer.WrittenSpan.ToArray(), pretty: true).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        var writer = await DeferredListBody.StartAsync(context, ct).ConfigureAwait(false);
        writer.Write(head.Span);
        var unflushed = head.Length;
        for (var i = 0; i < selected.Count; i++)
        {
            if (i > 0)
            {
                writer.Write(","u8);
            }

            if (metadataOnly)
            {
                writer.Write(selected[i].PartialMetadataJson());
            }
            else
            {
                selected[i].WriteItem(writer);
            }

            unflushed += selected[i].Json.Length;
            if (unflushed > FlushThreshold)
            {
                await writer.FlushAsync(ct).ConfigureAwait(false);
                unflushed = 0;
            }
        }

        writer.Write("]}\n"u8);
        await writer.CompleteAsync(ct).ConfigureAwait(false);
    }

    private static void WriteList(IBufferWriter<byte> buffer, ReadOnlySpan<byte> head, List<StoredObject> items, bool metadataOnly = false)
    {
        buffer.Write(head);
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }

            if (metadataOnly)
            {
                buffer.Write(items[i].PartialMetadataJson());
            }
            else
            {
                items[i].WriteItem(buffer);
            }
        }

        buffer.Write("]}"u8);
    }

    private static int LowerBound(ImmutableList<StoredObject> items, string key)
    {
        var i = items.BinarySearch(StoredObject.Probe(key), StoredObject.KeyComparer);
        return i >= 0 ? i : ~i;
    }

    // ------------------------------------------------------------------ writes

    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.ContentLength > _options.MaxRequestBodySize)
        {
            throw StatusErrors.RequestEntityTooLarge(_options.MaxRequestBodySize);
        }

        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            if (result.Buffer.Length > _options.MaxRequestBodySize)
            {
                reader.AdvanceTo(result.Buffer.Start);
                throw StatusErrors.RequestEntityTooLarge(_options.MaxRequestBodySize);
            }

            if (result.IsCompleted)
            {
                var bytes = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static void RequireJsonBody(HttpRequest request)
    {
        var type = request.ContentType;
        if (string.IsNullOrEmpty(type))
        {
            return;
        }

        var media = type.Split(';')[0].Trim();
        if (!media.Equals("application/json", StringComparison.OrdinalIgnoreCase) && media != "*/*")
        {
            throw StatusErrors.UnsupportedMediaType();
        }
    }

    /// <summary>Decodes a request object, with kube-apiserver's errors for bad JSON and for another kind.</summary>
    internal JsonObject DecodeObject(ResourceState state, ReadOnlyMemory<byte> body)
    {
        var def = state.Definition;
        JsonObject obj;
        try
        {
            obj = GoJson.ParseObject(body);
        }
        catch (JsonException e)
        {
            throw StatusErrors.BadRequest($"the object provided is unrecognized (must be of type {def.Kind}): couldn't get version/kind; json parse error: {GoJson.DescribeSyntaxError(body.Span, e)} ({GoJson.Summarize(body.Span)})");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw StatusErrors.BadRequest($"the object provided is unrecognized (must be of type {def.Kind}): couldn't get version/kind; json parse error: {e.Message} ({GoJson.Summarize(body.Span)})");
        }

        var kind = Meta.TryGetString(obj, "kind");
        var apiVersion = Meta.TryGetString(obj, "apiVersion");
        if ((obj["kind"] is not null && kind is null) || (obj["apiVersion"] is not null && apiVersion is null))
        {
            throw StatusErrors.BadRequest($"the object provided is unrecognized (must be of type {def.Kind}): couldn't get version/kind; json parse error: json: cannot unmarshal non-string into Go struct field .kind of type string ({GoJson.Summarize(body.Span)})");
        }

        if ((!string.IsNullOrEmpty(kind) && kind != def.Kind) || (!string.IsNullOrEmpty(apiVersion) && apiVersion != def.ApiVersion))
        {
            var shownKind = string.IsNullOrEmpty(kind) ? def.Kind : kind;
            var shownApiVersion = string.IsNullOrEmpty(apiVersion) ? def.ApiVersion : apiVersion;
            var version = shownApiVersion.Contains('/', StringComparison.Ordinal) ? shownApiVersion[(shownApiVersion.IndexOf('/', StringComparison.Ordinal) + 1)..] : shownApiVersion;
            var known = _store.Resources.Any(r => r.Definition.Kind == shownKind && r.Definition.ApiVersion == shownApiVersion);
            var reason = known
                ? $"converting ({version}.{shownKind}) to ({def.Version}.{def.Kind}): unknown conversion"
                : $"no kind \"{shownKind}\" is registered for version \"{shownApiVersion}\" in scheme \"pkg/api/legacyscheme/scheme.go:30\"";
            throw StatusErrors.BadRequest($"{shownKind} in version \"{version}\" cannot be handled as a {def.Kind}: {reason}");
        }

        return obj;
    }

    private static void ApplyUrlNamespace(JsonObject obj, ResourceState state, string? ns)
    {
        if (!state.Definition.Namespaced)
        {
            return;
        }

        var meta = Meta.Metadata(obj);
        var bodyNs = Meta.GetString(meta, "namespace");
        if (!string.IsNullOrEmpty(bodyNs) && bodyNs != ns)
        {
            throw StatusErrors.BadRequest("the namespace of the provided object does not match the namespace sent on the request");
        }

        meta["namespace"] = ns;
    }

    private async Task HandleCreateAsync(HttpContext context, ResourceState state, string? ns, bool pretty)
    {
        // Negotiated before the write, as the handlers do (NegotiateOutputMediaType), so a 406 changes nothing.
        var rep = NegotiateResource(context.Request);
        RejectDryRun(context.Request);
        RequireJsonBody(context.Request);
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var obj = DecodeObject(state, body);
        ApplyUrlNamespace(obj, state, ns);
        var stored = _store.Create(state, obj, new WriteOptions(ContentNegotiation.Manager(context.Request), Admit: true));
        await WriteJsonAsync(context, 201, ObjectResponse(rep, state, stored), pretty).ConfigureAwait(false);
    }

    private async Task HandleUpdateAsync(HttpContext context, ResourceState state, string ns, string name, Subresource sub, bool pretty)
    {
        var rep = NegotiateResource(context.Request);
        RejectDryRun(context.Request);
        RequireJsonBody(context.Request);
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var manager = new WriteOptions(ContentNegotiation.Manager(context.Request));
        if (sub == Subresource.Scale)
        {
            var scale = DecodeScale(body);
            var updated = _store.Mutate(state, ns, name, cur => ApplyScale(cur, scale), manager, Subresource.Scale);
            await WriteJsonAsync(context, 200, GoJson.Serialize(ToScale(updated)), pretty).ConfigureAwait(false);
            return;
        }

        var obj = DecodeObject(state, body);
        var bodyName = Meta.GetString(Meta.Metadata(obj), "name") ?? "";
        if (bodyName != name)
        {
            throw StatusErrors.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        ApplyUrlNamespace(obj, state, ns);
        var stored = _store.Mutate(state, ns, name, _ => obj, manager, sub);
        await WriteJsonAsync(context, 200, ObjectResponse(rep, state, stored), pretty).ConfigureAwait(false);
    }

    private async Task HandlePatchAsync(HttpContext context, ResourceState state, string ns, string name, Subresource sub, bool pretty)
    {
        var rep = NegotiateResource(context.Request);
        RejectDryRun(context.Request);
        var media = (context.Request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var manager = new WriteOptions(ContentNegotiation.Manager(context.Request));
        if (media == "application/apply-patch+yaml")
        {
            await HandleApplyAsync(context, state, ns, name, sub, body, pretty).ConfigureAwait(false);
            return;
        }

        Func<JsonObject, JsonObject> apply = media switch
        {
            "application/merge-patch+json" => MergePatch(body, strategic: false),
            "application/strategic-merge-patch+json" when !state.Behavior.Unstructured => MergePatch(body, strategic: true),
            "application/json-patch+json" => JsonPatch(body),
            _ => throw StatusErrors.UnsupportedMediaType(),
        };

        if (sub == Subresource.Scale)
        {
            var scaled = _store.Mutate(state, ns, name, cur => ApplyScale(cur, apply(ToScale(StoredObject.FromNode(cur.DeepClone().AsObject(), state.Definition)))), manager, Subresource.Scale);
            await WriteJsonAsync(context, 200, GoJson.Serialize(ToScale(scaled)), pretty).ConfigureAwait(false);
            return;
        }

        var stored = _store.Mutate(state, ns, name, apply, manager, sub);
        await WriteJsonAsync(context, 200, ObjectResponse(rep, state, stored), pretty).ConfigureAwait(false);
    }

    /// <summary>
    /// Server-side apply, the subset operators use: the applied configuration (JSON, which is YAML) is created when the
    /// object is missing, else merged into it with strategic-merge rules, and recorded under the field manager with
    /// operation <c>Apply</c>. Field ownership conflicts between managers are not detected (docs/compatibility.md).
    /// </summary>
    private async Task HandleApplyAsync(HttpContext context, ResourceState state, string ns, string name, Subresource sub, ReadOnlyMemory<byte> body, bool pretty)
    {
        var rep = NegotiateResource(context.Request);
        if (!context.Request.Query.TryGetValue("fieldManager", out var managerValue) || string.IsNullOrEmpty(managerValue.ToString()))
        {
            throw StatusErrors.BadRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
        }

        JsonObject applied;
        try
        {
            applied = GoJson.ParseObject(body);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw StatusErrors.BadRequest("error decoding YAML: the embedded API server reads apply patches written as JSON: " + e.Message);
        }

        var meta = Meta.Metadata(applied);
        var bodyName = Meta.GetString(meta, "name") ?? "";
        if (bodyName != name)
        {
            throw StatusErrors.BadRequest($"the name of the object ({bodyName}) does not match the name on the URL ({name})");
        }

        var options = new WriteOptions(managerValue.ToString(), "Apply", Admit: true);
        if (sub == Subresource.None && state.Get(StoredObject.MakeKey(ns, name)) is null)
        {
            ApplyUrlNamespace(applied, state, ns);
            var created = _store.Create(state, applied, options);
            await WriteJsonAsync(context, 201, ObjectResponse(rep, state, created), pretty).ConfigureAwait(false);
            return;
        }

        var stored = _store.Mutate(state, ns, name, cur => Patches.ApplyStrategicMergePatch(cur, (JsonObject)applied.DeepClone()), options, sub);
        await WriteJsonAsync(context, 200, ObjectResponse(rep, state, stored), pretty).ConfigureAwait(false);
    }

    private static Func<JsonObject, JsonObject> MergePatch(ReadOnlyMemory<byte> body, bool strategic)
    {
        JsonObject patch;
        try
        {
            patch = GoJson.ParseObject(body);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw StatusErrors.BadRequest("error decoding patch: " + (e is JsonException je ? GoJson.DescribeSyntaxError(body.Span, je) : e.Message));
        }

        return cur =>
        {
            var copy = (JsonObject)patch.DeepClone();
            return strategic ? Patches.ApplyStrategicMergePatch(cur, copy) : Patches.ApplyMergePatch(cur, copy);
        };
    }

    private static Func<JsonObject, JsonObject> JsonPatch(ReadOnlyMemory<byte> body)
    {
        JsonArray operations;
        try
        {
            operations = JsonNode.Parse(body.Span, documentOptions: GoJson.DocumentOptions) as JsonArray
                ?? throw new JsonException("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
        }
        catch (JsonException e)
        {
            throw StatusErrors.BadRequest("error decoding patch: " + (e.BytePositionInLine is null ? e.Message : GoJson.DescribeSyntaxError(body.Span, e)));
        }

        return cur =>
        {
            try
            {
                return Patches.ApplyJsonPatch(cur, (JsonArray)operations.DeepClone()) as JsonObject
                    ?? throw new InvalidOperationException("the patch produced a non-object");
            }
            catch (InvalidOperationException e)
            {
                throw new ApiServerStatusException(422, "Invalid", e.Message, StatusErrors.BuildStatus(422, "Invalid", e.Message, null));
            }
        };
    }

    private async Task HandleDeleteAsync(HttpContext context, ResourceState state, string ns, string name, bool pretty)
    {
        var rep = NegotiateResource(context.Request);
        RejectDryRun(context.Request);
        var request = await ReadDeleteOptionsAsync(context).ConfigureAwait(false);
        var result = _store.Delete(state, ns, name, request);
        if (result.Deleted && !state.Behavior.GracefulDelete)
        {
            var status = StatusErrors.BuildStatus(200, null, null,
                StatusErrors.Details(result.Object.Name, state.Definition.Group, state.Definition.Plural, result.Object.Uid), success: true);
            if (_options.DeleteStatusResourceVersion)
            {
                // v1.38: the revision of the deletion, the same as the DELETED watch event's.
                status["metadata"]!["resourceVersion"] = result.Object.ResourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await WriteJsonAsync(context, 200, GoJson.Serialize(status), pretty).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, 200, ObjectResponse(rep, state, result.Object), pretty).ConfigureAwait(false);
    }

    private async Task HandleDeleteCollectionAsync(HttpContext context, ResourceState state, string? ns, bool pretty)
    {
        RejectDryRun(context.Request);
        var query = context.Request.Query;
        LabelSelector labels;
        FieldSelector fields;
        try
        {
            labels = LabelSelector.Parse(QueryParams.String(query, "labelSelector"));
            fields = FieldSelector.Parse(QueryParams.String(query, "fieldSelector"), state.Definition);
        }
        catch (FormatException e)
        {
            throw StatusErrors.BadRequest(e.Message);
        }

        var request = await ReadDeleteOptionsAsync(context).ConfigureAwait(false);
        var deleted = _store.DeleteCollection(state, ns, labels, fields, request);
        var head = GoJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("kind", state.Definition.Kind + "List");
            w.WriteString("apiVersion", state.Definition.ApiVersion);
            w.WriteStartObject("metadata");
            w.WriteString("resourceVersion", _store.Revision.ToString(CultureInfo.InvariantCulture));
            w.WriteEndObject();
            w.WriteStartArray("items");
            w.WriteEndArray();
            w.WriteEndObject();
        });
        var buffer = new ArrayBufferWriter<byte>();
        WriteList(buffer, head.AsSpan(0, head.Length - 2), deleted);
        await WriteJsonAsync(context, 200, buffer.WrittenSpan.ToArray(), pretty).ConfigureAwait(false);
    }

    private async Task<DeleteRequest> ReadDeleteOptionsAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        string? policy = QueryParams.String(query, "propagationPolicy");
        var orphan = QueryParams.Bool(query, "orphanDependents");
        long? grace = QueryParams.String(query, "gracePeriodSeconds") is { Length: > 0 } g && long.TryParse(g, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var gv) ? gv : null;
        string? uid = null, rv = null;
        if (body.Length > 0)
        {
            JsonObject options;
            try
            {
                options = GoJson.ParseObject(body);
            }
            catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
            {
                throw StatusErrors.BadRequest("the object provided is unrecognized (must be of type DeleteOptions): couldn't get version/kind; json parse error: "
                    + (e is JsonException je ? GoJson.DescribeSyntaxError(body.Span, je) : e.Message) + " (" + GoJson.Summarize(body.Span) + ")");
            }

            // DeleteOptions carries dryRun in its body (kubectl, KubernetesClient and client-go send it there): refused
            // like the query parameter, so a dry run can never delete.
            if (options["dryRun"] is JsonArray { Count: > 0 })
            {
                throw StatusErrors.BadRequest("dryRun is not supported by the embedded API server");
            }

            policy ??= Meta.TryGetString(options, "propagationPolicy");
            if (options["orphanDependents"] is JsonValue ov && ov.TryGetValue<bool>(out var ob))
            {
                orphan ??= ob;
            }

            if (grace is null && options["gracePeriodSeconds"] is JsonValue gp && gp.TryGetValue<long>(out var bodyGrace))
            {
                grace = bodyGrace;
            }

            if (options["preconditions"] is JsonObject pre)
            {
                uid = Meta.TryGetString(pre, "uid");
                rv = Meta.TryGetString(pre, "resourceVersion");
            }
        }

        ApiDeletionPropagation? propagation = policy switch
        {
            null or "" => orphan switch
            {
                true => ApiDeletionPropagation.Orphan,
                false => ApiDeletionPropagation.Background,
                null => null,
            },
            "Orphan" => ApiDeletionPropagation.Orphan,
            "Background" => ApiDeletionPropagation.Background,
            "Foreground" => ApiDeletionPropagation.Foreground,
            _ => throw StatusErrors.Invalid("DeleteOptions", "meta.k8s.io", "", [StatusErrors.NotSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"])]),
        };
        return new DeleteRequest(propagation, uid, rv, grace is < 0 ? 0 : grace);
    }

    // ------------------------------------------------------------------ scale subresource

    private static JsonObject ToScale(StoredObject obj)
    {
        var node = obj.ToNode();
        var meta = (JsonObject)node["metadata"]!;
        var scaleMeta = new JsonObject();
        foreach (var key in (string[])["name", "namespace", "uid", "resourceVersion", "creationTimestamp"])
        {
            if (meta[key] is { } v)
            {
                scaleMeta[key] = v.DeepClone();
            }
        }

        return new JsonObject
        {
            ["kind"] = "Scale",
            ["apiVersion"] = "autoscaling/v1",
            ["metadata"] = scaleMeta,
            ["spec"] = new JsonObject { ["replicas"] = Meta.GetInt(node["spec"] as JsonObject, "replicas") ?? 0 },
            ["status"] = new JsonObject
            {
                ["replicas"] = Meta.GetInt(node["status"] as JsonObject, "replicas") ?? 0,
                ["selector"] = SelectorString(Meta.Path(node, ".spec.selector") as JsonObject),
            },
        };
    }

    private static string SelectorString(JsonObject? selector)
    {
        var text = Tables.FormatLabelSelector(selector);
        return text == "<none>" ? "" : text;
    }

    private static JsonObject DecodeScale(ReadOnlyMemory<byte> body)
    {
        try
        {
            return GoJson.ParseObject(body);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw StatusErrors.BadRequest($"the object provided is unrecognized (must be of type Scale): couldn't get version/kind; json parse error: {(e is JsonException je ? GoJson.DescribeSyntaxError(body.Span, je) : e.Message)} ({GoJson.Summarize(body.Span)})");
        }
    }

    private static JsonObject ApplyScale(JsonObject cur, JsonObject scale)
    {
        var replicas = Meta.GetInt(scale["spec"] as JsonObject, "replicas");
        if (replicas is null or < 0)
        {
            throw StatusErrors.Invalid("Scale", "autoscaling", Meta.TryGetString(cur["metadata"] as JsonObject, "name") ?? "",
                [StatusErrors.InvalidValue("spec.replicas", replicas?.ToString(CultureInfo.InvariantCulture) ?? "", "must be greater than or equal to 0")]);
        }

        var spec = cur["spec"] as JsonObject ?? new JsonObject();
        cur["spec"] = spec;
        spec["replicas"] = replicas.Value;
        var meta = Meta.Metadata(cur);
        var rv = Meta.TryGetString(scale["metadata"] as JsonObject, "resourceVersion");
        if (string.IsNullOrEmpty(rv))
        {
            meta.Remove("resourceVersion");
        }
        else
        {
            meta["resourceVersion"] = rv;
        }

        return cur;
    }

    // ------------------------------------------------------------------ output

    /// <summary>Writes a whole body; <paramref name="compressible"/> for API objects (kube-apiserver's SerializeObject), not for /version, /healthz or the path index (WriteRawJSON, never gzipped).</summary>
    internal static Task WriteBytesAsync(HttpContext context, int status, byte[] body, string contentType, bool appendNewline, bool compressible = false)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        return ResponseCompression.WriteBodyAsync(context, body, appendNewline, compressible);
    }

    /// <summary>JSON with kube-apiserver's framing: compact plus "\n", or indented without a newline for curl-like agents and <c>?pretty</c>.</summary>
    internal static Task WriteJsonAsync(HttpContext context, int status, byte[] compact, bool pretty)
        => pretty
            ? WriteBytesAsync(context, status, GoJson.Indent(compact), "application/json", appendNewline: false, compressible: true)
            : WriteBytesAsync(context, status, compact, "application/json", appendNewline: true, compressible: true);

    private static async Task WriteAggregatedAsync(HttpContext context, byte[] body, string version, bool pretty)
    {
        var etag = Discovery.ETag(body);
        var response = context.Response;
        response.Headers.CacheControl = "public";
        response.Headers.ETag = etag;
        response.Headers.Vary = "Accept";
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            response.StatusCode = 304;
            return;
        }

        var bytes = pretty ? GoJson.Indent(body) : body;
        await WriteBytesAsync(context, 200, bytes, $"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList", appendNewline: !pretty, compressible: true).ConfigureAwait(false);
    }

    internal static async Task WriteStatusAsync(HttpContext context, ApiServerStatusException e, bool pretty)
    {
        if (e.RetryAfter is { } retry)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        var compact = GoJson.Serialize(e.StatusNode);
        if (e.Indented)
        {
            await WriteBytesAsync(context, e.StatusCode, GoJson.Indent(compact), "application/json", appendNewline: false, compressible: true).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, e.StatusCode, compact, pretty).ConfigureAwait(false);
    }

    internal ApiStore Store => _store;

    /// <summary>Counts gzipped responses.</summary>
    internal CompressionStats Compression { get; } = new();

    internal ApiServerFaults Faults => _faults;

    internal EmbeddedApiServerOptions Options => _options;

    internal ILogger Logger => _logger;

    internal CancellationToken Stopping => _stopping();

}
