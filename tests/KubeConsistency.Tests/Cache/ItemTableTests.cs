using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using KubeConsistency.Cache;

namespace KubeConsistency.Tests.Cache;

/// <summary>The store's single-writer, lock-free-reader item table: against a dictionary model, under concurrent readers, and under hash flooding.</summary>
public sealed class ItemTableTests
{
    private sealed record Item(string Key, int Version);

    private abstract record Op;

    private sealed record SetOp(int Key) : Op;

    private sealed record RemoveOp(int Key) : Op;

    [Fact]
    public void Property_TableMatchesDictionaryModel()
    {
        // Keys from a universe small enough for removes to hit and large enough to force growth and compaction.
        var ops = Gen.Frequency(
            (3, Gen.Choose(0, 200).Select(k => (Op)new SetOp(k))),
            (2, Gen.Choose(0, 200).Select(k => (Op)new RemoveOp(k))));
        Prop.ForAll(Arb.From(Gen.ListOf(ops)), Arb.From(Gen.Choose(0, 64)), (script, capacity) =>
        {
            var table = new ItemTable<Item>(capacity);
            var model = new Dictionary<string, Item>(StringComparer.Ordinal);
            var version = 0;
            foreach (var op in script)
            {
                switch (op)
                {
                    case SetOp set:
                        var key = "ns/pod-" + set.Key;
                        var item = new Item(key, ++version);
                        var isNew = table.Set(key, item, out var previous);
                        Assert.Equal(!model.ContainsKey(key), isNew);
                        Assert.Same(model.GetValueOrDefault(key), previous);
                        model[key] = item;
                        break;
                    case RemoveOp remove:
                        var removedKey = "ns/pod-" + remove.Key;
                        var removed = table.Remove(removedKey, out var removedItem);
                        Assert.Equal(model.Remove(removedKey, out var expected), removed);
                        Assert.Same(expected, removedItem);
                        break;
                }

                Assert.Equal(model.Count, table.Count);
            }

            for (var k = 0; k <= 200; k++)
            {
                var key = "ns/pod-" + k;
                Assert.Equal(model.TryGetValue(key, out var expected), table.TryGetValue(key, out var actual));
                Assert.Same(expected, actual);
            }

            var keys = new string[table.Count];
            var values = new Item[table.Count];
            table.CopyTo(keys, values);
            Assert.Equal(model.Keys.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
            Assert.All(keys.Zip(values), kv => Assert.Same(model[kv.First], kv.Second));
            Assert.Equal(model.OrderBy(kv => kv.Key, StringComparer.Ordinal), table.Entries().OrderBy(kv => kv.Key, StringComparer.Ordinal));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public async Task ConcurrentReaders_NeverSeeAnotherKeysValue_AndAlwaysFindStableKeys()
    {
        // Stable keys are set before readers start and only ever updated; churn keys are added and removed, so the
        // writer grows, compacts and relinks chains while readers walk them.
        const int Stable = 500;
        const int Churn = 2000;
        var table = new ItemTable<Item>();
        for (var k = 0; k < Stable; k++)
        {
            table.Set("stable/" + k, new Item("stable/" + k, 0), out _);
        }

        var done = 0;
        var readers = Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount)).Select(seed => Task.Run(() =>
        {
            var random = new Random(seed);
            var reads = 0L;
            while (Volatile.Read(ref done) == 0 || reads < 10_000)
            {
                var stable = random.Next(2) == 0;
                var key = stable ? "stable/" + random.Next(Stable) : "churn/" + random.Next(Churn);
                var found = table.TryGetValue(key, out var item);
                if (stable && !found)
                {
                    throw new InvalidOperationException($"stable key {key} not found");
                }

                if (found && item!.Key != key)
                {
                    throw new InvalidOperationException($"key {key} read the value of {item.Key}");
                }

                reads++;
            }

            return reads;
        })).ToArray();

        var writer = Task.Run(() =>
        {
            var random = new Random(7);
            for (var round = 1; round <= 40; round++)
            {
                for (var k = 0; k < Churn; k++)
                {
                    table.Set("churn/" + k, new Item("churn/" + k, round), out _);
                    var stable = "stable/" + random.Next(Stable);
                    table.Set(stable, new Item(stable, round), out _);
                }

                for (var k = 0; k < Churn; k += 1 + random.Next(2))
                {
                    table.Remove("churn/" + k, out _);
                }
            }

            Volatile.Write(ref done, 1);
        });

        await writer;
        var totals = await Task.WhenAll(readers);
        Assert.All(totals, reads => Assert.True(reads >= 10_000));
        Assert.All(Enumerable.Range(0, Stable), k => Assert.True(table.TryGetValue("stable/" + k, out _)));
    }

    [Fact]
    public void CollidingKeys_SwitchToTheRandomizedHash_AndStayFindable()
    {
        var colliding = CollidingKeys(ItemTable<Item>.CollisionThreshold + 50).ToList();
        Assert.Single(colliding.Select(ItemTable<Item>.NonRandomizedHash).Distinct());

        var table = new ItemTable<Item>();
        foreach (var key in colliding)
        {
            table.Set(key, new Item(key, 1), out _);
        }

        Assert.True(table.Randomized);
        Assert.Equal(colliding.Count, table.Count);
        Assert.All(colliding, key => Assert.True(table.TryGetValue(key, out var item) && item.Key == key));
    }

    [Fact]
    public void OrdinaryKeys_KeepTheFastHash()
    {
        var table = new ItemTable<Item>();
        for (var i = 0; i < 100_000; i++)
        {
            table.Set($"namespace-{i % 100}/pod-{i}", new Item("", i), out _);
        }

        Assert.False(table.Randomized);
        Assert.Equal(100_000, table.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2_048)]
    [InlineData(10_000)]
    public void ManyPages_SurviveGrowthDeletesAndCompaction(int capacity)
    {
        // Entries live in pages of 2,048: every operation must address the right page, across growth and compaction.
        var table = new ItemTable<Item>(capacity);
        var model = new Dictionary<string, Item>(StringComparer.Ordinal);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 9_000; i++)
            {
                var key = $"ns-{i % 7}/pod-{i}";
                var item = new Item(key, round);
                Assert.Equal(!model.ContainsKey(key), table.Set(key, item, out _));
                model[key] = item;
            }

            for (var i = round; i < 9_000; i += 3)
            {
                var key = $"ns-{i % 7}/pod-{i}";
                Assert.Equal(model.Remove(key), table.Remove(key, out _));
            }
        }

        Assert.Equal(model.Count, table.Count);
        Assert.All(model, pair => Assert.True(table.TryGetValue(pair.Key, out var found) && ReferenceEquals(found, pair.Value)));
        var keys = new string[table.Count];
        var values = new Item[table.Count];
        table.CopyTo(keys, values);
        Assert.Equal(model.Keys.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
        Assert.All(keys.Zip(values), pair => Assert.Same(model[pair.First], pair.Second));
    }

    /// <summary>
    /// Four-character keys with one non-randomised hash: a key is two 32-bit lanes, each mixed once with a known
    /// constant, so for any first lane the second lane that lands on a chosen hash can be solved for.
    /// </summary>
    private static IEnumerable<string> CollidingKeys(int count)
    {
        const uint Seed = (5381u << 16) + 5381u;
        const uint Multiplier = 1566083941u;
        var mixed = BitOperations.RotateLeft(Seed, 5) + Seed;
        var inverse = Multiplier;
        for (var i = 0; i < 5; i++)
        {
            inverse *= 2 - (Multiplier * inverse); // Newton's iteration for the inverse modulo 2^32
        }

        const uint Target = 0x1234_5678;
        for (uint first = 0x0061_0061; count > 0; first++)
        {
            var second = ((Target - (mixed ^ first)) * inverse) ^ mixed;
            var chars = new[] { (char)(first & 0xFFFF), (char)(first >> 16), (char)(second & 0xFFFF), (char)(second >> 16) };
            count--;
            yield return new string(chars);
        }
    }
}
