namespace KubeConsistency.Internal;

internal static class ThrowHelper
{
}
