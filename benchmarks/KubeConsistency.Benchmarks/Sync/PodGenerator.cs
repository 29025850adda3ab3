using System.Globalization;
using System.Text.Json.Nodes;

namespace KubeConsistency.Benchmarks.Sync;

/// <summary>
/// Builds realistic pods (a ReplicaSet-owned web pod: labels, annotations, an owner reference, one container with
/// image, a port, env and resources, and a status with three conditions). Stored by the embedded server with uid,
/// timestamps, resourceVersion and defaults, a list item is about 1.5 KB of JSON (3.3 KB more with the two
/// managedFields entries kube-apiserver would add: <c>serve --managed-fields</c>).
/// </summary>
internal static class PodGenerator
{
    public static string NamespaceName(int index) => "bench-ns-" + index.ToString("D3", CultureInfo.InvariantCulture);

    /// <summary>Pod <paramref name="i"/> of a run: namespace i % namespaces, 10 deployments per namespace.</summary>
    public static (string Namespace, string Name, JsonObject Pod, JsonObject Status) Create(int i, int namespaces)
    {
        var ns = NamespaceName(i % namespaces);
        var app = "app-" + ((i / namespaces) % 10).ToString(CultureInfo.InvariantCulture);
        var hash = ((uint)(app.GetHashCode(StringComparison.Ordinal) ^ ns.GetHashCode(StringComparison.Ordinal))).ToString("x8", CultureInfo.InvariantCulture)[..8];
        var rsName = app + "-" + hash;
        var name = rsName + "-" + i.ToString("x6", CultureInfo.InvariantCulture);
        var node = "node-" + (i % 500).ToString("D4", CultureInfo.InvariantCulture);
        var ip = $"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}";
        var hostIp = $"192.168.{(i % 500) / 250}.{i % 250}";
        var rsUid = DeterministicUid(rsName, ns);
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["labels"] = new JsonObject
                {
                    ["app.kubernetes.io/name"] = app,
                    ["pod-template-hash"] = hash,
                },
                ["annotations"] = new JsonObject
                {
                    ["prometheus.io/scrape"] = "true",
                },
                ["ownerReferences"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["apiVersion"] = "apps/v1",
                        ["kind"] = "ReplicaSet",
                        ["name"] = rsName,
                        ["uid"] = rsUid,
                        ["controller"] = true,
                        ["blockOwnerDeletion"] = true,
                    },
                },
            },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["name"] = "web",
                        ["image"] = "ghcr.io/acme/" + app + ":1.42.7",
                        ["ports"] = new JsonArray
                        {
                            new JsonObject { ["name"] = "http", ["containerPort"] = 8080, ["protocol"] = "TCP" },
                        },
                        ["env"] = new JsonArray
                        {
                            new JsonObject { ["name"] = "LOG_LEVEL", ["value"] = "info" },
                        },
                        ["resources"] = new JsonObject
                        {
                            ["limits"] = new JsonObject { ["cpu"] = "500m", ["memory"] = "256Mi" },
                            ["requests"] = new JsonObject { ["cpu"] = "100m", ["memory"] = "128Mi" },
                        },
                        ["terminationMessagePath"] = "/dev/termination-log",
                        ["terminationMessagePolicy"] = "File",
                        ["imagePullPolicy"] = "IfNotPresent",
                    },
                },
                ["restartPolicy"] = "Always",
                ["terminationGracePeriodSeconds"] = 30,
                ["dnsPolicy"] = "ClusterFirst",
                ["serviceAccountName"] = "default",
                ["nodeName"] = node,
                ["schedulerName"] = "default-scheduler",
            },
        };

        const string Started = "2026-01-15T10:00:05Z";
        var status = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["conditions"] = new JsonArray
                {
                    Condition("Initialized", Started),
                    Condition("Ready", "2026-01-15T10:00:09Z"),
                    Condition("PodScheduled", "2026-01-15T10:00:01Z"),
                },
                ["hostIP"] = hostIp,
                ["podIP"] = ip,
                ["podIPs"] = new JsonArray { new JsonObject { ["ip"] = ip } },
                ["startTime"] = Started,
            },
        };
        return (ns, name, pod, status);
    }

    private static JsonObject Condition(string type, string time) => new()
    {
        ["type"] = type,
        ["status"] = "True",
        ["lastProbeTime"] = null,
        ["lastTransitionTime"] = time,
    };

    private static string DeterministicUid(string a, string b)
    {
        var h1 = (uint)a.GetHashCode(StringComparison.Ordinal);
        var h2 = (uint)b.GetHashCode(StringComparison.Ordinal);
        return string.Create(CultureInfo.InvariantCulture, $"{h1:x8}-{h2 >> 16:x4}-4{h2 & 0xfff:x3}-8{h1 & 0xfff:x3}-{h1:x8}{h2 & 0xffff:x4}");
    }
}
