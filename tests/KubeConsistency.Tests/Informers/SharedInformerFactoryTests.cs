using KubeConsistency.Cache;
using KubeConsistency.Client;
using KubeConsistency.Informers;
using KubeConsistency.Metrics;
using KubeConsistency.Testing;
using KubeConsistency.Tests.Controllers.WorkQueue;
using Microsoft.Extensions.Logging;
using static KubeConsistency.Tests.TestObjects;

namespace KubeConsistency.Tests.Informers;

/// <summary>The shared informer factory: option validation, what it hands its informers, sharing and disposal.</summary>
public sealed class SharedInformerFactoryTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task The_list_watch_is_created_after_configure_so_it_can_follow_the_configured_options()
    {
        await using var factory = new SharedInformerFactory(new SharedInformerFactoryOptions { InformerName = Unique() });
        var order = new List<string>();
        factory.GetOrAdd<TestPod>(
            GroupVersionResource.Pods,
            () =>
            {
                order.Add("listWatch");
                return new FakeListWatch();
            },
            configure: o =>
            {
                order.Add("configure");
                return o;
            });
        Assert.Equal(["configure", "listWatch"], order);
    }

    [Fact]
    public void An_empty_informer_name_is_rejected_naming_the_option()
    {
        var error = Assert.Throws<ArgumentException>(() => new SharedInformerFactory(new SharedInformerFactoryOptions { InformerName = "" }));
        Assert.Equal("SharedInformerFactoryOptions.InformerName", error.ParamName);
    }

    [Fact]
    public void A_negative_default_resync_period_is_rejected_naming_the_option()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SharedInformerFactory(new SharedInformerFactoryOptions { DefaultResyncPeriod = TimeSpan.FromSeconds(-1) }));
        Assert.Equal("options", error.ParamName);
        Assert.Equal(TimeSpan.FromSeconds(-1), error.ActualValue);
        Assert.Contains("SharedInformerFactoryOptions.DefaultResyncPeriod must not be negative.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zero_and_positive_default_resync_periods_are_valid_and_reach_the_informers_handlers()
    {
        await using var none = new SharedInformerFactory(new SharedInformerFactoryOptions { InformerName = Unique(), DefaultResyncPeriod = TimeSpan.Zero });
        var disabled = none.GetOrAdd(GroupVersionResource.Pods, ListWatch(new FakeListWatch()));
        Assert.Equal(TimeSpan.Zero, ((ProcessorListener<TestPod>)disabled.AddEventHandler(new ChannelHandler())).ResyncPeriod);

        await using var factory = new SharedInformerFactory(new SharedInformerFactoryOptions { InformerName = Unique(), DefaultResyncPeriod = TimeSpan.FromSeconds(30) });
        var informer = factory.GetOrAdd(GroupVersionResource.Pods, ListWatch(new FakeListWatch()));
        Assert.Equal(TimeSpan.FromSeconds(30), ((ProcessorListener<TestPod>)informer.AddEventHandler(new ChannelHandler())).ResyncPeriod);
    }

    [Fact]
    public async Task Null_arguments_are_rejected_naming_the_parameter()
    {
        await using var factory = new SharedInformerFactory();
        Assert.Equal("listWatch", Assert.Throws<ArgumentNullException>(() => factory.GetOrAdd<TestPod>(GroupVersionResource.Pods, listWatch: null!)).ParamName);
        Assert.Equal("client", Assert.Throws<ArgumentNullException>(() => factory.GetOrAdd((IResourceClient<TestPod>)null!)).ParamName);
    }

    [Fact]
    public async Task A_null_scope_is_the_empty_scope()
    {
        await using var factory = new SharedInformerFactory(new SharedInformerFactoryOptions { InformerName = Unique() });
        var source = new FakeListWatch();
        var unscoped = factory.GetOrAdd(GroupVersionResource.Pods, ListWatch(source), scope: "");
        Assert.Same(unscoped, factory.GetOrAdd(GroupVersionResource.Pods, ListWatch(source), scope: null!));
    }

    [Fact]
    public async Task Informers_get_the_resource_and_the_factory_name_clock_logger_and_meter()
    {
        using var meters = new TestMeterFactory();
        using var metrics = new MetricCollector(meters);
        var time = new ManualTimeProvider();
        var logs = new RecordingLoggerFactory();
        var name = "factory-" + Guid.NewGuid().ToString("N");
        var factory = new SharedInformerFactory(new SharedInformerFactoryOptions
        {
            InformerName = name,
            DefaultResyncPeriod = TimeSpan.FromSeconds(10),
            TimeProvider = time,
            LoggerFactory = logs,
            MeterFactory = meters,
        });
        var source = new FakeListWatch { AutoList = _ => FakeListWatch.Page("42", [Pod("ns", "a", "1")]) };
        var informer = factory.GetOrAdd(GroupVersionResource.Pods, ListWatch(source), configure: o => o with { UseWatchList = false });
        Assert.Equal(GroupVersionResource.Pods, informer.Resource); // from the factory: the source does not say
        factory.Start();
        await factory.WaitForCacheSyncAsync().WaitAsync(Guard);

        Assert.Equal(42, metrics.Observe(InformerMetrics.StoreResourceVersionInstrument, name));
        Assert.Contains("KubeConsistency.Informers.SharedIndexInformer", logs.Categories);
        await time.WaitForTimerDueInAsync(TimeSpan.FromSeconds(10)).WaitAsync(Guard); // the resync check runs on the factory's clock
        await factory.DisposeAsync().AsTask().WaitAsync(Guard);
    }

    [Fact]
    public async Task The_default_informer_name_is_kubeconsistency()
    {
        using var meters = new TestMeterFactory();
        using var metrics = new MetricCollector(meters);
        var factory = new SharedInformerFactory(new SharedInformerFactoryOptions { MeterFactory = meters });
        var source = new FakeListWatch { AutoList = _ => FakeListWatch.Page("7", []) };
        factory.GetOrAdd(GroupVersionResource.Pods, ListWatch(source), configure: o => o with { UseWatchList = false });
        factory.Start();
        await factory.WaitForCacheSyncAsync().WaitAsync(Guard);
        Assert.Equal(7, metrics.Observe(InformerMetrics.StoreResourceVersionInstrument, "kubeconsistency"));
        await factory.DisposeAsync().AsTask().WaitAsync(Guard);
    }

    [Fact]
    public async Task A_disposed_factory_refuses_new_informers()
    {
        var factory = new SharedInformerFactory();
        await factory.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => factory.GetOrAdd(GroupVersionResource.Pods, ListWatch(new FakeListWatch())));
        Assert.Throws<ObjectDisposedException>(() => factory.Start());
    }

    [Fact]
    public async Task Disposing_waits_for_the_informers_and_a_second_dispose_returns_at_once()
    {
        var factory = new SharedInformerFactory(new SharedInformerFactoryOptions { InformerName = Unique() });
        var source = new FakeListWatch { AutoList = _ => FakeListWatch.Page("1", [Pod("ns", "a", "1")]) };
        var informer = factory.GetOrAdd(GroupVersionResource.Pods, ListWatch(source), configure: o => o with { UseWatchList = false });
        var gate = new SemaphoreSlim(0);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var returned = 0;
        informer.AddEventHandler(new ResourceEventHandler<TestPod>
        {
            OnAdd = (_, _) =>
            {
                entered.TrySetResult();
                gate.Wait(Guard);
                Interlocked.Exchange(ref returned, 1);
            },
        });
        factory.Start();
        await entered.Task.WaitAsync(Guard); // the informer cannot stop before this handler call returns

        var first = factory.DisposeAsync().AsTask();
        Assert.False(first.IsCompleted);
        var second = factory.DisposeAsync();
        Assert.True(second.IsCompleted); // already disposing: does not wait again
        await second;

        gate.Release();
        await first.WaitAsync(Guard);
        Assert.Equal(1, Volatile.Read(ref returned));
        Assert.Throws<ObjectDisposedException>(() => factory.Start());
    }

    // Informers that never run keep their metrics identity on the static meter: never use the shared default name for them.
    private static string Unique() => "factory-test-" + Guid.NewGuid().ToString("N");

    private static Func<IListWatch<TestPod>> ListWatch(FakeListWatch source) => () => source;
}
