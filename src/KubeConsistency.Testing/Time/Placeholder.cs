namespace KubeConsistency.Testing;

internal static class Placeholder
{
}
