using System.Collections.Frozen;
using System.Reflection;
using k8s.Models;

namespace KubeConsistency.KubernetesClient;

/// <summary>What a KubernetesClient model type's <c>[KubernetesEntity]</c> attribute says, read once per type.</summary>
/// <typeparam name="T">The model type.</typeparam>
internal static class KubernetesModel<T>
{
    private static readonly KubernetesEntityAttribute? s_entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>();

    /// <summary>The resource and kind for <paramref name="options"/>, from the attribute unless they override it.</summary>
    /// <exception cref="ArgumentException">The type has no <c>[KubernetesEntity]</c> and the options name no resource.</exception>
    public static (GroupVersionResource Resource, string Kind, bool Namespaced) Describe(KubernetesResourceOptions? options)
    {
        var resource = options?.Resource
            ?? (s_entity is { PluralName.Length: > 0, ApiVersion.Length: > 0 } e
                ? new GroupVersionResource(e.Group, e.ApiVersion, e.PluralName)
                : throw new ArgumentException(
                    $"{typeof(T)} has no [KubernetesEntity] attribute with ApiVersion and PluralName; set {nameof(KubernetesResourceOptions)}.{nameof(KubernetesResourceOptions.Resource)}.",
                    nameof(options)));
        var kind = options?.Kind ?? s_entity?.Kind ?? typeof(T).Name;
        var namespaced = options?.Namespaced ?? !KubernetesModel.ClusterScoped.Contains(resource.GroupResource);
        return (resource, kind, namespaced);
    }
}

/// <summary>Facts about built-in kinds.</summary>
internal static class KubernetesModel
{
    /// <summary>The built-in cluster-scoped resources (kube-apiserver v1.36 discovery), everything else being namespaced.</summary>
    public static FrozenSet<GroupResource> ClusterScoped { get; } = new GroupResource[]
    {
        new("", "namespaces"), new("", "nodes"), new("", "persistentvolumes"), new("", "componentstatuses"),
        new("rbac.authorization.k8s.io", "clusterroles"), new("rbac.authorization.k8s.io", "clusterrolebindings"),
        new("storage.k8s.io", "storageclasses"), new("storage.k8s.io", "csidrivers"), new("storage.k8s.io", "csinodes"),
        new("storage.k8s.io", "volumeattachments"), new("storage.k8s.io", "volumeattributesclasses"),
        new("apiextensions.k8s.io", "customresourcedefinitions"), new("apiregistration.k8s.io", "apiservices"),
        new("admissionregistration.k8s.io", "validatingwebhookconfigurations"), new("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
        new("admissionregistration.k8s.io", "validatingadmissionpolicies"), new("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
        new("admissionregistration.k8s.io", "mutatingadmissionpolicies"), new("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"),
        new("scheduling.k8s.io", "priorityclasses"), new("node.k8s.io", "runtimeclasses"), new("networking.k8s.io", "ingressclasses"),
        new("networking.k8s.io", "ipaddresses"), new("networking.k8s.io", "servicecidrs"),
        new("certificates.k8s.io", "certificatesigningrequests"), new("certificates.k8s.io", "clustertrustbundles"),
        new("flowcontrol.apiserver.k8s.io", "flowschemas"), new("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
        new("resource.k8s.io", "deviceclasses"), new("resource.k8s.io", "resourceslices"),
        new("authentication.k8s.io", "tokenreviews"), new("authentication.k8s.io", "selfsubjectreviews"),
        new("authorization.k8s.io", "subjectaccessreviews"), new("authorization.k8s.io", "selfsubjectaccessreviews"),
        new("authorization.k8s.io", "selfsubjectrulesreviews"),
    }.ToFrozenSet();
}
