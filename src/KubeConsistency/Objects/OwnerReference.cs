namespace KubeConsistency;

/// <summary>
/// A reference from a dependent object to its owner (Go: <c>metav1.OwnerReference</c>). At most one owner
/// reference of an object is its <em>controller</em> (<see cref="Controller"/> = <see langword="true"/>): the
/// object that manages it, e.g. the ReplicaSet of a pod.
/// </summary>
/// <param name="ApiVersion">The owner's <c>apiVersion</c>, e.g. <c>apps/v1</c>.</param>
/// <param name="Kind">The owner's kind, e.g. <c>ReplicaSet</c>.</param>
/// <param name="Name">The owner's name (same namespace as the dependent).</param>
/// <param name="Uid">The owner's UID.</param>
/// <param name="Controller">Whether this reference points at the managing controller.</param>
/// <param name="BlockOwnerDeletion">Whether foreground deletion of the owner waits for this dependent.</param>
public sealed record OwnerReference(string ApiVersion, string Kind, string Name, string Uid, bool? Controller = null, bool? BlockOwnerDeletion = null)
{
    /// <summary>Whether <see cref="Controller"/> is <see langword="true"/>.</summary>
    public bool IsController => Controller == true;

    /// <summary>The API group of <see cref="ApiVersion"/> (<c>apps</c> for <c>apps/v1</c>, <c>""</c> for <c>v1</c>).</summary>
    public string Group
    {
        get
        {
            var slash = ApiVersion.IndexOf('/', StringComparison.Ordinal);
            return slash < 0 ? string.Empty : ApiVersion[..slash];
        }
    }

    /// <summary>
    /// A controller reference (Go: <c>metav1.NewControllerRef</c>): <c>controller: true</c> and
    /// <c>blockOwnerDeletion: true</c>.
    /// </summary>
    /// <param name="apiVersion">The owner's <c>apiVersion</c>.</param>
    /// <param name="kind">The owner's kind.</param>
    /// <param name="name">The owner's name.</param>
    /// <param name="uid">The owner's UID.</param>
    /// <exception cref="ArgumentException">An argument is null or empty.</exception>
    public static OwnerReference NewControllerRef(string apiVersion, string kind, string name, string uid)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiVersion);
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(uid);
        return new OwnerReference(apiVersion, kind, name, uid, Controller: true, BlockOwnerDeletion: true);
    }

    /// <summary>The first reference with <c>controller: true</c> (Go: <c>metav1.GetControllerOfNoCopy</c>), or <see langword="null"/>.</summary>
    /// <param name="ownerReferences">An object's owner references.</param>
    public static OwnerReference? GetControllerOf(IEnumerable<OwnerReference>? ownerReferences)
    {
        if (ownerReferences is null)
        {
            return null;
        }

        foreach (var reference in ownerReferences)
        {
            if (reference.IsController)
            {
                return reference;
            }
        }

        return null;
    }
}
