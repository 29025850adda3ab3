namespace KubeConsistency.Hosting;

/// <summary>Whether this replica runs the controllers now (always, without leader election).</summary>
public interface ILeadership
{
    /// <summary>Whether this replica holds the Lease and its controllers are running.</summary>
    bool IsLeader { get; }

    /// <summary>This replica's identity in the Lease.</summary>
    string Identity { get; }
}

internal sealed class Leadership(string identity) : ILeadership
{
    private volatile bool _isLeader;

    public bool IsLeader
    {
        get => _isLeader;
        set => _isLeader = value;
    }

    public string Identity { get; } = identity;
}
