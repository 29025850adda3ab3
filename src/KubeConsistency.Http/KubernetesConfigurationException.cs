namespace KubeConsistency.Http;

/// <summary>A kubeconfig or in-cluster configuration is missing, malformed or inconsistent. Never contains credentials.</summary>
public sealed class KubernetesConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KubernetesConfigurationException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public KubernetesConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause (never one whose message could hold a credential).</param>
    public KubernetesConfigurationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
