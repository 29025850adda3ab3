using System.Text.Json.Nodes;

namespace KubeConsistency.Testing.ApiServer;

/// <summary>Kind-specific strategy: defaulting, status reset on create, graceful deletion, and the zero-value body of BOOKMARK objects.</summary>
internal class ResourceBehavior
{
    private static readonly ResourceBehavior s_typed = new();

    protected ResourceBehavior()
    {
    }

    /// <summary>Returns the behavior for a definition; built-ins are recognised by group and plural.</summary>
    public static ResourceBehavior For(ApiResourceDefinition def) => (def.Group, def.Plural) switch
    {
        ("", "pods") => PodBehavior.Instance,
        ("", "namespaces") => NamespaceBehavior.Instance,
        ("", "configmaps") => s_typed,
        ("apps", "replicasets") => ReplicaSetBehavior.Instance,
        ("apps", "daemonsets") => DaemonSetBehavior.Instance,
        ("apps", "statefulsets") => StatefulSetBehavior.Instance,
        ("", "nodes") => NodeBehavior.Instance,
        ("batch", "jobs") => JobBehavior.Instance,
        ("coordination.k8s.io", "leases") => LeaseBehavior.Instance,
        _ => CustomBehavior.Instance,
    };

    /// <summary>Whether objects are unstructured (custom resources): bookmarks carry only <c>metadata.resourceVersion</c>.</summary>
    public virtual bool Unstructured => false;

    /// <summary>Pods: DELETE sets <c>deletionTimestamp</c> (MODIFIED) and then removes the object (DELETED), and returns the object.</summary>
    public virtual bool GracefulDelete => false;

    /// <summary>Properties after <c>metadata</c> in the Go zero value of the kind (BOOKMARK objects), starting with a comma.</summary>
    public virtual string EmptyBody => "";

    /// <summary>Defaulting and status initialisation on create (status from the request is dropped when a status subresource exists).</summary>
    public virtual void PrepareForCreate(JsonObject obj, ApiResourceDefinition def, string uid)
    {
        if (def.HasStatusSubresource)
        {
            obj.Remove("status");
        }
    }

    /// <summary>Adjustments on update (after status/spec have been merged according to the subresource).</summary>
    public virtual void PrepareForUpdate(JsonObject obj, JsonObject old)
    {
    }

    protected static JsonObject Child(JsonObject parent, string name)
    {
        if (parent[name] is JsonObject o)
        {
            return o;
        }

        var created = new JsonObject();
        parent[name] = created;
        return created;
    }

    protected static void Default(JsonObject obj, string name, JsonNode value)
    {
        if (obj[name] is null)
        {
            obj[name] = value;
        }
    }

    /// <summary>Defaults of a v1 PodSpec (the subset visible in the wire samples).</summary>
    protected static void DefaultPodSpec(JsonObject spec)
    {
        foreach (var listName in (string[])["containers", "initContainers"])
        {
            if (spec[listName] is JsonArray containers)
            {
                foreach (var c in containers.OfType<JsonObject>())
                {
                    if (c["ports"] is JsonArray ports)
                    {
                        foreach (var p in ports.OfType<JsonObject>())
                        {
                            Default(p, "protocol", "TCP");
                        }
                    }

                    Default(c, "resources", new JsonObject());
                    Default(c, "terminationMessagePath", "/dev/termination-log");
                    Default(c, "terminationMessagePolicy", "File");
                    var image = Meta.TryGetString(c, "image") ?? "";
                    var lastSegment = image[(image.LastIndexOf('/') + 1)..];
                    var pullAlways = !lastSegment.Contains(':', StringComparison.Ordinal) && !image.Contains('@', StringComparison.Ordinal)
                        || image.EndsWith(":latest", StringComparison.Ordinal);
                    Default(c, "imagePullPolicy", pullAlways ? "Always" : "IfNotPresent");
                }
            }
        }

        Default(spec, "restartPolicy", "Always");
        Default(spec, "terminationGracePeriodSeconds", 30);
        Default(spec, "dnsPolicy", "ClusterFirst");
        Default(spec, "securityContext", new JsonObject());
        Default(spec, "schedulerName", "default-scheduler");
    }
}

internal sealed class LeaseBehavior : ResourceBehavior
{
    public static readonly LeaseBehavior Instance = new();

    public override string EmptyBody => ",\"spec\":{}";
}

internal sealed class CustomBehavior : ResourceBehavior
{
    public static readonly CustomBehavior Instance = new();

    public override bool Unstructured => true;
}

internal sealed class PodBehavior : ResourceBehavior
{
    public static readonly PodBehavior Instance = new();

    public override bool GracefulDelete => true;

    public override string EmptyBody => ",\"spec\":{\"containers\":null},\"status\":{}";

    public override void PrepareForCreate(JsonObject obj, ApiResourceDefinition def, string uid)
    {
        var spec = Child(obj, "spec");
        DefaultPodSpec(spec);
        Default(spec, "enableServiceLinks", true);
        obj["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = QosClass(spec) };
    }

    private static string QosClass(JsonObject spec)
    {
        var any = false;
        var guaranteed = true;
        if (spec["containers"] is JsonArray containers)
        {
            foreach (var c in containers.OfType<JsonObject>())
            {
                var resources = c["resources"] as JsonObject;
                var requests = resources?["requests"] as JsonObject;
                var limits = resources?["limits"] as JsonObject;
                if ((requests?.Count ?? 0) > 0 || (limits?.Count ?? 0) > 0)
                {
                    any = true;
                }

                foreach (var r in (string[])["cpu", "memory"])
                {
                    var limit = limits?[r]?.ToJsonString();
                    var request = requests?[r]?.ToJsonString() ?? limit;
                    if (limit is null || request != limit)
                    {
                        guaranteed = false;
                    }
                }
            }
        }

        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }
}

internal sealed class NamespaceBehavior : ResourceBehavior
{
    public static readonly NamespaceBehavior Instance = new();

    public override string EmptyBody => ",\"spec\":{},\"status\":{}";

    public override void PrepareForCreate(JsonObject obj, ApiResourceDefinition def, string uid)
    {
        Default(obj, "spec", new JsonObject());
        obj["status"] = new JsonObject { ["phase"] = "Active" };
        SetNameLabel(obj);
    }

    public override void PrepareForUpdate(JsonObject obj, JsonObject old) => SetNameLabel(obj);

    private static void SetNameLabel(JsonObject obj)
    {
        var meta = Meta.Metadata(obj);
        var labels = Child(meta, "labels");
        labels["kubernetes.io/metadata.name"] = Meta.TryGetString(meta, "name");
    }
}

internal sealed class ReplicaSetBehavior : ResourceBehavior
{
    public static readonly ReplicaSetBehavior Instance = new();

    public override string EmptyBody => ",\"spec\":{\"selector\":null,\"template\":{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":null}}},\"status\":{\"replicas\":0}";

    public override void PrepareForCreate(JsonObject obj, ApiResourceDefinition def, string uid)
    {
        var spec = Child(obj, "spec");
        Default(spec, "replicas", 1);
        if (spec["template"] is JsonObject template && template["spec"] is JsonObject podSpec)
        {
            DefaultPodSpec(podSpec);
        }

        obj["status"] = new JsonObject { ["replicas"] = 0 };
    }
}

internal sealed class DaemonSetBehavior : ResourceBehavior
{
    public static readonly DaemonSetBehavior Instance = new();

    public override string EmptyBody => ",\"spec\":{\"selector\":null,\"template\":{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":null}},\"updateStrategy\":{}},\"status\":{\"currentNumberScheduled\":0,\"numberMisscheduled\":0,\"desiredNumberScheduled\":0,\"numberReady\":0}";

    public override void PrepareForCreate(JsonObject obj, ApiResourceDefinition def, string uid)
    {
        var spec = Child(obj, "spec");
        Default(spec, "revisionHistoryLimit", 10);
        Default(spec, "updateStrategy", new JsonObject { ["type"] = "RollingUpdate", ["rollingUpdate"] = new JsonObject { ["maxUnavailable"] = 1, ["maxSurge"] = 0 } });
        if (spec["template"] is JsonObject template && template["spec"] is JsonObject podSpec)
        {
            DefaultPodSpec(podSpec);
        }

        obj["status"] = new JsonObject { ["currentNumberScheduled"] = 0, ["numberMisscheduled"] = 0, ["desiredNumberScheduled"] = 0, ["numberReady"] = 0 };
    }
}

internal sealed class StatefulSetBehavior : ResourceBehavior
{
    public static readonly StatefulSetBehavior Instance = new();

    public override string EmptyBody => ",\"spec\":{\"selector\":null,\"template\":{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":null}},\"serviceName\":\"\",\"updateStrategy\":{}},\"status\":{\"replicas\":0,\"availableReplicas\":0}";

    public override void PrepareForCreate(JsonObject obj, ApiResourceDefinition def, string uid)
    {
        var spec = Child(obj, "spec");
        Default(spec, "replicas", 1);
        Default(spec, "podManagementPolicy", "OrderedReady");
        Default(spec, "revisionHistoryLimit", 10);
        Default(spec, "updateStrategy", new JsonObject { ["type"] = "RollingUpdate", ["rollingUpdate"] = new JsonObject { ["partition"] = 0 } });
        Default(spec, "persistentVolumeClaimRetentionPolicy", new JsonObject { ["whenDeleted"] = "Retain", ["whenScaled"] = "Retain" });
        if (spec["template"] is JsonObject template && template["spec"] is JsonObject podSpec)
        {
            DefaultPodSpec(podSpec);
        }

        obj["status"] = new JsonObject { ["replicas"] = 0, ["availableReplicas"] = 0 };
    }
}

internal sealed class NodeBehavior : ResourceBehavior
{
    public static readonly NodeBehavior Instance = new();

    public override string EmptyBody => ",\"spec\":{},\"status\":{\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":0}},\"nodeInfo\":{\"machineID\":\"\",\"systemUUID\":\"\",\"bootID\":\"\",\"kernelVersion\":\"\",\"osImage\":\"\",\"containerRuntimeVersion\":\"\",\"kubeletVersion\":\"\",\"kubeProxyVersion\":\"\",\"operatingSystem\":\"\",\"architecture\":\"\"}}";

    public override void PrepareForCreate(JsonObject obj, ApiResourceDefinition def, string uid)
    {
        // A node registers its own status (a kubelet would); keep what the request says.
        Default(obj, "spec", new JsonObject());
    }
}

internal sealed class JobBehavior : ResourceBehavior
{
    public static readonly JobBehavior Instance = new();

    public override string EmptyBody => ",\"spec\":{\"template\":{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"containers\":null}}},\"status\":{}";

    public override void PrepareForCreate(JsonObject obj, ApiResourceDefinition def, string uid)
    {
        var spec = Child(obj, "spec");
        var meta = Meta.Metadata(obj);
        var name = Meta.TryGetString(meta, "name") ?? "";
        if (spec["completions"] is null && spec["parallelism"] is null)
        {
            spec["completions"] = 1;
            spec["parallelism"] = 1;
        }

        Default(spec, "parallelism", 1);
        Default(spec, "backoffLimit", 6);
        Default(spec, "completionMode", "NonIndexed");
        Default(spec, "suspend", false);
        Default(spec, "podReplacementPolicy", "TerminatingOrFailed");
        var template = Child(spec, "template");
        var templateMeta = Child(template, "metadata");
        if (spec["manualSelector"] is not JsonValue manual || !manual.TryGetValue<bool>(out var isManual) || !isManual)
        {
            var templateLabels = Child(templateMeta, "labels");
            templateLabels["batch.kubernetes.io/controller-uid"] = uid;
            templateLabels["batch.kubernetes.io/job-name"] = name;
            templateLabels["controller-uid"] = uid;
            templateLabels["job-name"] = name;
            spec["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["batch.kubernetes.io/controller-uid"] = uid } };
        }

        if (meta["labels"] is not JsonObject { Count: > 0 } && templateMeta["labels"] is JsonObject tl)
        {
            meta["labels"] = tl.DeepClone();
        }

        if (template["spec"] is JsonObject podSpec)
        {
            DefaultPodSpec(podSpec);
        }

        obj["status"] = new JsonObject();
    }
}
