using System.Numerics;
using FsCheck;
using FsCheck.Fluent;

namespace KubeConsistency.Tests.Objects;

/// <summary>upstream-semantics.md §6.1 (CompareResourceVersion) and §6.3 (metric parse).</summary>
public sealed class ResourceVersionTests
{
    [Theory]
    [InlineData("1", "2", -1)]
    [InlineData("2", "1", 1)]
    [InlineData("10", "10", 0)]
    [InlineData("9", "10", -1)] // shorter is smaller
    [InlineData("100", "99", 1)]
    [InlineData("12345678901234567890123456789012345678901234567890", "12345678901234567890123456789012345678901234567891", -1)] // 50 digits, no overflow
    public void Section6_1_Compare_ByLengthThenOrdinal(string a, string b, int expected) => Assert.Equal(expected, ResourceVersion.Compare(a, b));

    [Theory]
    [InlineData("")]
    [InlineData("0")] // 0 is a list/watch sentinel, never a live RV
    [InlineData("007")]
    [InlineData("abc")]
    [InlineData("12a")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("١")] // a non-ASCII digit
    public void Section6_1_MalformedValues_AreRejected_NamingTheValue(string bad)
    {
        Assert.False(ResourceVersion.IsWellFormed(bad));
        var exA = Assert.Throws<InvalidResourceVersionException>(() => ResourceVersion.Compare(bad, "5"));
        Assert.Equal(bad, exA.ResourceVersion);
        Assert.Contains("\"" + bad + "\"", exA.Message, StringComparison.Ordinal);
        var exB = Assert.Throws<InvalidResourceVersionException>(() => ResourceVersion.Compare("5", bad));
        Assert.Equal(bad, exB.ResourceVersion);
        Assert.False(ResourceVersion.TryCompare(bad, "5", out _));
        Assert.False(ResourceVersion.TryCompare("5", bad, out _));
    }

    [Fact]
    public void Section6_1_FirstArgumentIsReportedFirst()
    {
        var ex = Assert.Throws<InvalidResourceVersionException>(() => ResourceVersion.Compare("x", "y"));
        Assert.Equal("x", ex.ResourceVersion);
    }

    [Fact]
    public void Section6_1_NullIsMalformed()
    {
        Assert.False(ResourceVersion.IsWellFormed((string?)null));
        Assert.False(ResourceVersion.TryCompare(null, "1", out _));
    }

    [Theory]
    [InlineData("", 0L)]
    [InlineData("42", 42L)]
    [InlineData("007", 7L)] // leading zeros accepted for the metric
    [InlineData("1234567890123456789", 567890123456789L)] // last 15 digits
    [InlineData("999999999999999", 999999999999999L)]
    public void Section6_3_MetricParse_KeepsLast15Digits(string rv, long expected)
    {
        Assert.True(ResourceVersion.TryParseForMetrics(rv, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("12 3")]
    public void Section6_3_MetricParse_FailsOnGarbage(string rv) => Assert.False(ResourceVersion.TryParseForMetrics(rv, out _));

    private static Gen<string> WellFormed =>
        from length in Gen.Choose(1, 60)
        from first in Gen.Choose(1, 9)
        from rest in Gen.ArrayOf(Gen.Choose(0, 9), length - 1)
        select first + string.Concat(rest);

    [Fact]
    public void Property_Section6_1_AgreesWithBigInteger()
    {
        Prop.ForAll(Arb.From(WellFormed), Arb.From(WellFormed), (a, b) =>
            ResourceVersion.Compare(a, b) == BigInteger.Parse(a).CompareTo(BigInteger.Parse(b)))
            .QuietCheckThrowOnFailure();
    }

    [Fact]
    public void Property_Section6_1_IsATotalOrder()
    {
        Prop.ForAll(Arb.From(WellFormed), Arb.From(WellFormed), Arb.From(WellFormed), (a, b, c) =>
        {
            var ab = ResourceVersion.Compare(a, b);
            var antisymmetric = ab == -ResourceVersion.Compare(b, a);
            var reflexive = ResourceVersion.Compare(a, a) == 0;
            var equalMeansSame = ab != 0 || a == b;
            var transitive = !(ab <= 0 && ResourceVersion.Compare(b, c) <= 0) || ResourceVersion.Compare(a, c) <= 0;
            return antisymmetric && reflexive && equalMeansSame && transitive;
        }).QuietCheckThrowOnFailure();
    }

    [Fact]
    public void Property_Section6_1_SortingAgreesWithBigInteger()
    {
        Prop.ForAll(Arb.From(Gen.ListOf(WellFormed)), values =>
        {
            var ours = values.OrderBy(v => v, Comparer<string>.Create(ResourceVersion.Compare)).ToList();
            var reference = values.OrderBy(BigInteger.Parse).ToList();
            return ours.SequenceEqual(reference);
        }).QuietCheckThrowOnFailure();
    }
}
