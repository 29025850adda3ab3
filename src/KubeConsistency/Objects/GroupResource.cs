namespace KubeConsistency;

/// <summary>
/// An API group and resource (Go: <c>schema.GroupResource</c>); the core group is <c>""</c>.
/// </summary>
public readonly struct GroupResource : IEquatable<GroupResource>
{
    /// <summary>Creates a group-resource; <see langword="null"/> becomes <c>""</c>.</summary>
    /// <param name="group">The API group, <c>""</c> for the core group.</param>
    /// <param name="resource">The plural resource name, e.g. <c>pods</c>.</param>
    public GroupResource(string? group, string? resource)
    {
        Group = group ?? string.Empty;
        Resource = resource ?? string.Empty;
    }

    /// <summary>The API group; <c>""</c> for the core group.</summary>
    public string Group { get => field ?? string.Empty; }

    /// <summary>The plural resource name.</summary>
    public string Resource { get => field ?? string.Empty; }

    /// <summary>Core <c>pods</c>.</summary>
    public static GroupResource Pods { get; } = new(string.Empty, "pods");

    /// <summary><c>apps</c> <c>replicasets</c>.</summary>
    public static GroupResource ReplicaSets { get; } = new("apps", "replicasets");

    /// <summary><c>batch</c> <c>jobs</c>.</summary>
    public static GroupResource Jobs { get; } = new("batch", "jobs");

    /// <summary>Renders <c>resource.group</c>, or <c>resource</c> for the core group (Go's <c>GroupResource.String()</c>).</summary>
    public override string ToString() => Group.Length == 0 ? Resource : Resource + "." + Group;

    /// <inheritdoc/>
    public bool Equals(GroupResource other) => string.Equals(Group, other.Group, StringComparison.Ordinal) && string.Equals(Resource, other.Resource, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is GroupResource other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Group.GetHashCode(StringComparison.Ordinal), Resource.GetHashCode(StringComparison.Ordinal));

    /// <summary>Equality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    public static bool operator ==(GroupResource left, GroupResource right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    public static bool operator !=(GroupResource left, GroupResource right) => !left.Equals(right);
}

/// <summary>
/// An API group, version and resource (Go: <c>schema.GroupVersionResource</c>).
/// </summary>
public readonly struct GroupVersionResource : IEquatable<GroupVersionResource>
{
    /// <summary>Creates a group-version-resource; <see langword="null"/> becomes <c>""</c>.</summary>
    /// <param name="group">The API group, <c>""</c> for the core group.</param>
    /// <param name="version">The API version, e.g. <c>v1</c>.</param>
    /// <param name="resource">The plural resource name.</param>
    public GroupVersionResource(string? group, string? version, string? resource)
    {
        Group = group ?? string.Empty;
        Version = version ?? string.Empty;
        Resource = resource ?? string.Empty;
    }

    /// <summary>The API group; <c>""</c> for the core group.</summary>
    public string Group { get => field ?? string.Empty; }

    /// <summary>The API version.</summary>
    public string Version { get => field ?? string.Empty; }

    /// <summary>The plural resource name.</summary>
    public string Resource { get => field ?? string.Empty; }

    /// <summary>The group and resource without the version.</summary>
    public GroupResource GroupResource => new(Group, Resource);

    /// <summary>The <c>apiVersion</c> string: <c>group/version</c>, or <c>version</c> for the core group.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : Group + "/" + Version;

    /// <summary>Core v1 <c>pods</c>.</summary>
    public static GroupVersionResource Pods { get; } = new(string.Empty, "v1", "pods");

    /// <summary><c>apps/v1</c> <c>replicasets</c>.</summary>
    public static GroupVersionResource ReplicaSets { get; } = new("apps", "v1", "replicasets");

    /// <summary><c>batch/v1</c> <c>jobs</c>.</summary>
    public static GroupVersionResource Jobs { get; } = new("batch", "v1", "jobs");

    /// <summary>Core v1 <c>configmaps</c>.</summary>
    public static GroupVersionResource ConfigMaps { get; } = new(string.Empty, "v1", "configmaps");

    /// <summary><c>coordination.k8s.io/v1</c> <c>leases</c>.</summary>
    public static GroupVersionResource Leases { get; } = new("coordination.k8s.io", "v1", "leases");

    /// <summary>Renders as Go does: <c>group/version, Resource=resource</c>.</summary>
    public override string ToString() => Group + "/" + Version + ", Resource=" + Resource;

    /// <inheritdoc/>
    public bool Equals(GroupVersionResource other) =>
        string.Equals(Group, other.Group, StringComparison.Ordinal) &&
        string.Equals(Version, other.Version, StringComparison.Ordinal) &&
        string.Equals(Resource, other.Resource, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is GroupVersionResource other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Group.GetHashCode(StringComparison.Ordinal), Version.GetHashCode(StringComparison.Ordinal), Resource.GetHashCode(StringComparison.Ordinal));

    /// <summary>Equality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    public static bool operator ==(GroupVersionResource left, GroupVersionResource right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    public static bool operator !=(GroupVersionResource left, GroupVersionResource right) => !left.Equals(right);
}
