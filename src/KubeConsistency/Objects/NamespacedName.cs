namespace KubeConsistency;

/// <summary>
/// The namespace and name of an object (Go: <c>types.NamespacedName</c>). Cluster-scoped objects have an
/// empty <see cref="Namespace"/>.
/// </summary>
public readonly struct NamespacedName : IEquatable<NamespacedName>
{
    /// <summary>Creates a namespaced name; a <see langword="null"/> namespace or name becomes <c>""</c>.</summary>
    /// <param name="namespace">The namespace, or <c>""</c> for cluster-scoped objects.</param>
    /// <param name="name">The name.</param>
    public NamespacedName(string? @namespace, string? name)
    {
        Namespace = @namespace ?? string.Empty;
        Name = name ?? string.Empty;
    }

    /// <summary>The namespace; <c>""</c> for cluster-scoped objects.</summary>
    public string Namespace { get => field ?? string.Empty; }

    /// <summary>The name.</summary>
    public string Name { get => field ?? string.Empty; }

    /// <summary>
    /// Parses a cache key (<c>namespace/name</c> or <c>name</c>), the inverse of <see cref="ObjectKeys.MetaNamespaceKey(string?, string?)"/>.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <exception cref="FormatException">The key has more than one <c>/</c>.</exception>
    public static NamespacedName FromKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var (ns, name) = ObjectKeys.SplitMetaNamespaceKey(key);
        return new NamespacedName(ns, name);
    }

    /// <summary>The cache key: <c>namespace/name</c>, or <c>name</c> when the namespace is empty.</summary>
    public string ToKey() => ObjectKeys.MetaNamespaceKey(Namespace, Name);

    /// <summary>Renders <c>namespace/name</c> as Go's <c>NamespacedName.String()</c> does (always with the separator).</summary>
    public override string ToString() => Namespace + "/" + Name;

    /// <inheritdoc/>
    public bool Equals(NamespacedName other) => string.Equals(Namespace, other.Namespace, StringComparison.Ordinal) && string.Equals(Name, other.Name, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NamespacedName other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Namespace.GetHashCode(StringComparison.Ordinal), Name.GetHashCode(StringComparison.Ordinal));

    /// <summary>Equality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    public static bool operator ==(NamespacedName left, NamespacedName right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    public static bool operator !=(NamespacedName left, NamespacedName right) => !left.Equals(right);
}
