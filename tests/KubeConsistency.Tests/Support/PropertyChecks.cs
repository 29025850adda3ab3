using FsCheck;
using FsCheck.Fluent;

namespace KubeConsistency.Tests;

/// <summary>FsCheck runs that stay quiet when they pass (a test run's output is for failures, not "Ok, passed 100 tests").</summary>
internal static class PropertyChecks
{
    /// <summary>Checks the property with FsCheck's quick configuration; throws with the counterexample when it fails.</summary>
    public static void QuietCheckThrowOnFailure(this Property property) =>
        Check.One(Config.QuickThrowOnFailure.WithQuietOnSuccess(true), property);
}
