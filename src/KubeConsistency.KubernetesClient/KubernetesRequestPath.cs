namespace KubeConsistency.KubernetesClient;

/// <summary>The resource a Kubernetes REST path addresses: <c>[prefix]/api/{v}/…</c> or <c>[prefix]/apis/{group}/{v}/…</c>.</summary>
/// <param name="GroupResource">The group-resource (a subresource write is its parent's).</param>
/// <param name="Namespace">The namespace, or <see langword="null"/>.</param>
/// <param name="Name">The object name, or <see langword="null"/> for a collection.</param>
/// <param name="Subresource">The subresource (<c>status</c>, <c>scale</c>, <c>eviction</c>, …), or <see langword="null"/>.</param>
internal readonly record struct KubernetesRequestPath(GroupResource GroupResource, string? Namespace, string? Name, string? Subresource)
{
    public static bool TryParse(Uri uri, out KubernetesRequestPath path)
    {
        path = default;
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < segments.Length; i++)
        {
            int rest;
            string group;
            if (segments[i] == "api" && i + 1 < segments.Length)
            {
                group = string.Empty;
                rest = i + 2;
            }
            else if (segments[i] == "apis" && i + 2 < segments.Length)
            {
                group = segments[i + 1];
                rest = i + 3;
            }
            else
            {
                continue;
            }

            var tail = segments.AsSpan(rest);
            if (tail.Length == 0)
            {
                return false;
            }

            if (tail[0] == "watch")
            {
                tail = tail[1..];
            }

            string? ns = null;
            if (tail.Length == 3 && tail[0] == "namespaces" && tail[2] is "status" or "finalize")
            {
                // A namespace's own subresource, not a resource inside it.
                path = new KubernetesRequestPath(new GroupResource(group, "namespaces"), null, Uri.UnescapeDataString(tail[1]), tail[2]);
                return true;
            }

            if (tail.Length >= 3 && tail[0] == "namespaces")
            {
                ns = Uri.UnescapeDataString(tail[1]);
                tail = tail[2..];
            }

            path = new KubernetesRequestPath(
                new GroupResource(group, tail[0]),
                ns,
                tail.Length > 1 ? Uri.UnescapeDataString(tail[1]) : null,
                tail.Length > 2 ? tail[2] : null);
            return true;
        }

        return false;
    }
}
