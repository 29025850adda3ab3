using KubeConsistency.Cache;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Cache;

/// <summary>Producer/consumer stress on the FIFO with a bounded run time: nothing lost, order kept per producer.</summary>
public sealed class FifoStressTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ManyProducers_OneBatchingConsumer_DeliverEveryDeltaInProducerOrder(bool unlockWhileProcessing)
    {
        const int Producers = 4;
        const int PerProducer = 20_000;
        var fifo = RealFifo.Create(new RealFifoOptions<TestPod> { EmitDeltaTypeBookmark = true, UnlockWhileProcessing = unlockWhileProcessing });
        var lastSeen = new int[Producers];
        var total = 0;
        var bookmarks = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        void Consume(Delta<TestPod> d)
        {
            if (d.Object is BookmarkInfo)
            {
                bookmarks++;
                return;
            }

            var pod = (TestPod)d.Object;
            var producer = pod.Metadata!.NamespaceProperty![1] - '0';
            var seq = int.Parse(pod.Metadata.ResourceVersion!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(seq == lastSeen[producer] + 1, $"producer {producer}: {seq} after {lastSeen[producer]}");
            lastSeen[producer] = seq;
            total++;
        }

        var consumer = Task.Run(async () =>
        {
            while (await fifo.PopBatchAsync(
                (batch, _) =>
                {
                    foreach (var d in batch)
                    {
                        Consume(d);
                    }
                },
                (d, _) => Consume(d),
                timeout.Token))
            {
            }
        });

        await Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(() =>
        {
            for (var i = 1; i <= PerProducer; i++)
            {
                // Keys repeat within a producer, exercising the duplicate-key batch split.
                fifo.Update(Pod("p" + p, "k" + (i % 50), i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                if (i % 1000 == 0)
                {
                    fifo.Bookmark(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        })));

        fifo.Close();
        await consumer.WaitAsync(timeout.Token);
        Assert.Equal(Producers * PerProducer, total);
        Assert.Equal(Producers * PerProducer / 1000, bookmarks);
        Assert.All(lastSeen, s => Assert.Equal(PerProducer, s));
        Assert.Equal(0, fifo.Count);
    }
}
