using System.Net.Http;
using System.Text.Json;
using KubeConsistency.Consistency;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KubeConsistency.KubernetesClient;

/// <summary>
/// A <see cref="DelegatingHandler"/> for KubernetesClient's handler chain (<c>new Kubernetes(config, new
/// ConsistencyRecordingHandler())</c>) that records every successful write made inside a <see cref="WriteScope"/> with
/// <see cref="IConsistencyStore.WroteAt"/> for the scope's owner — creates, replaces, patches of every type (merge,
/// strategic, JSON, apply), <c>/status</c> and <c>/scale</c> writes, evictions, bindings and deletes, of any kind —
/// using the resource version in the server's response. No code per kind, no wrapper per client call.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The group-resource comes from the request path (<c>/api/v1/namespaces/a/pods/x/status</c> → <c>pods</c>;
/// <c>/apis/apps/v1/…/replicasets/x/scale</c> → <c>replicasets.apps</c>): a subresource write is recorded under its
/// parent, whose resource version the response carries.</item>
/// <item>The resource version is the response's top-level <c>metadata.resourceVersion</c>: the written object, the object
/// behind finalizers that a delete returns, or a <c>Status</c> that carries one (Kubernetes v1.38 returns one for deletes,
/// evictions and bindings). A response without one (a <c>Status</c> from an older server) records nothing; see
/// docs/compatibility.md.</item>
/// <item>Dry-run requests, failed requests and reads are never recorded; outside a scope nothing is buffered or parsed.</item>
/// </list>
/// </remarks>
public sealed partial class ConsistencyRecordingHandler : DelegatingHandler
{
    private readonly ILogger _logger;

    /// <summary>Creates the handler (KubernetesClient sets its inner handler).</summary>
    /// <param name="loggerFactory">Where the handler logs a write that returned no resource version; <see langword="null"/> logs nothing.</param>
    public ConsistencyRecordingHandler(ILoggerFactory? loggerFactory = null) =>
        _logger = loggerFactory?.CreateLogger("KubeConsistency.KubernetesClient") ?? NullLogger.Instance;

    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var scope = WriteScope.Current;
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (scope is null || !response.IsSuccessStatusCode || !IsWrite(request.Method) || request.RequestUri is not { } uri
            || !KubernetesRequestPath.TryParse(uri, out var target) || await IsDryRunAsync(request, cancellationToken).ConfigureAwait(false))
        {
            return response;
        }

        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (TryReadResourceVersion(body) is { Length: > 0 } rv)
        {
            scope.RecordWrite(target.GroupResource, rv);
        }
        else
        {
            LogWriteWithoutResourceVersion(_logger, request.Method.Method, target.GroupResource.ToString(), target.Name ?? string.Empty, scope.Owner.ToString());
        }

        return response;
    }

    /// <summary>The top-level <c>metadata.resourceVersion</c> of a JSON document, or <see langword="null"/>.</summary>
    internal static string? TryReadResourceVersion(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMetadata = reader.ValueTextEquals("metadata"u8);
                reader.Read();
                if (!isMetadata || reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isRv = reader.ValueTextEquals("resourceVersion"u8);
                    reader.Read();
                    if (isRv)
                    {
                        return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }

                    reader.Skip();
                }

                return null;
            }
        }
        catch (JsonException)
        {
            // Not JSON (a protobuf or table response): nothing to record.
        }

        return null;
    }

    private static bool IsWrite(HttpMethod method) =>
        method == HttpMethod.Post || method == HttpMethod.Put || method == HttpMethod.Patch || method == HttpMethod.Delete;

    private static async ValueTask<bool> IsDryRunAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri!.Query.Contains("dryRun=", StringComparison.Ordinal))
        {
            return true;
        }

        // A delete sends dryRun in its DeleteOptions body (KubernetesClient, kubectl and client-go all do).
        if (request.Method == HttpMethod.Delete && request.Content is { } content)
        {
            var text = await content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return text.Contains("\"dryRun\"", StringComparison.Ordinal) && !text.Contains("\"dryRun\":[]", StringComparison.Ordinal) && !text.Contains("\"dryRun\":null", StringComparison.Ordinal);
        }

        return false;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "{Method} {Resource} {Name} for owner {Owner} returned no resource version; nothing recorded")]
    private static partial void LogWriteWithoutResourceVersion(ILogger logger, string method, string resource, string name, string owner);
}
