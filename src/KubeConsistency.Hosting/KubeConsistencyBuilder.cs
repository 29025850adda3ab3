using k8s;
using k8s.Models;
using KubeConsistency.Informers;
using KubeConsistency.KubernetesClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace KubeConsistency.Hosting;

/// <summary>Adds informers and controllers to the operator that <c>AddKubeConsistency</c> registered.</summary>
public interface IKubeConsistencyBuilder
{
    /// <summary>The services.</summary>
    IServiceCollection Services { get; }

    /// <summary>
    /// Registers a shared informer of <typeparamref name="T"/> (a built-in <c>k8s.Models</c> kind or a custom resource class),
    /// resolvable as <see cref="ISharedIndexInformer{T}"/>; it starts with the host and its sync gates the controllers.
    /// </summary>
    /// <typeparam name="T">The model type.</typeparam>
    /// <param name="resource">Namespace, selectors and, for custom resources, group/version/plural.</param>
    /// <param name="configure">Derives the informer's options (indexers, transform…); clock, logging and metrics come from the container.</param>
    IKubeConsistencyBuilder AddInformer<T>(KubernetesResourceOptions? resource = null, Func<SharedIndexInformerOptions<T>, SharedIndexInformerOptions<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>;

    /// <summary>
    /// Registers a controller: <paramref name="create"/> builds it once this replica leads (after every informer synced),
    /// <paramref name="run"/> runs it until its token is cancelled (at shutdown, or when the Lease is lost).
    /// </summary>
    /// <typeparam name="TController">The controller type.</typeparam>
    /// <param name="name">Its name, in logs.</param>
    /// <param name="create">Builds it from the container (informers, <c>IKubernetes</c>, clock, loggers, meters).</param>
    /// <param name="run">Runs it; must return once the token is cancelled and its in-flight work has drained.</param>
    IKubeConsistencyBuilder AddController<TController>(string name, Func<IServiceProvider, TController> create, Func<TController, CancellationToken, Task> run)
        where TController : class;

    /// <summary>
    /// Registers a controller with settings of its own, bound from <c>KubeConsistency:Controllers:&lt;name&gt;</c> (named options
    /// <paramref name="name"/>) and validated when the host starts: each message <paramref name="validate"/> returns fails
    /// start, prefixed with the section path (return e.g. <c>"Workers must be at least 1"</c>).
    /// </summary>
    /// <typeparam name="TController">The controller type.</typeparam>
    /// <typeparam name="TSettings">Its settings.</typeparam>
    /// <param name="name">Its name, in logs and in the configuration path.</param>
    /// <param name="create">Builds it from the container and its settings.</param>
    /// <param name="run">Runs it until the token is cancelled.</param>
    /// <param name="validate">Returns what is wrong with the settings (nothing when valid).</param>
    IKubeConsistencyBuilder AddController<TController, TSettings>(string name, Func<IServiceProvider, TSettings, TController> create, Func<TController, CancellationToken, Task> run, Func<TSettings, IEnumerable<string>>? validate = null)
        where TController : class
        where TSettings : class;
}

/// <summary>An informer the host starts (its sync gates the controllers).</summary>
/// <param name="ModelType">The model type.</param>
/// <param name="Resolve">The informer, from the container.</param>
/// <param name="CatchUp">Waits until the informer's store has applied every object a fresh LIST returns (its newest resource version).</param>
internal sealed record InformerRegistration(Type ModelType, Func<IServiceProvider, IInformerHandle> Resolve, Func<IServiceProvider, CancellationToken, Task> CatchUp);

/// <summary>Every registered informer, resolved once (by the first of the hosted service and the health checks to ask).</summary>
internal sealed class InformerHandles(IServiceProvider services, IEnumerable<InformerRegistration> registrations)
{
    private readonly Lazy<IReadOnlyList<IInformerHandle>> _all = new(() => [.. registrations.Select(r => r.Resolve(services))]);

    public IReadOnlyList<IInformerHandle> All => _all.Value;
}

/// <summary>What the host needs of an informer, whatever its type.</summary>
internal interface IInformerHandle
{
    string Name { get; }

    bool HasSynced { get; }

    ReflectorStatistics Statistics { get; }
}

/// <summary>A controller the host runs while leading.</summary>
internal sealed record ControllerRegistration(string Name, Func<IServiceProvider, CancellationToken, Task> Run);

internal sealed class KubeConsistencyBuilder(IServiceCollection services) : IKubeConsistencyBuilder
{
    public IServiceCollection Services { get; } = services;

    public IKubeConsistencyBuilder AddInformer<T>(KubernetesResourceOptions? resource = null, Func<SharedIndexInformerOptions<T>, SharedIndexInformerOptions<T>>? configure = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        Services.AddSingleton(sp => sp.GetRequiredService<SharedInformerFactory>().GetOrAdd(sp.GetRequiredService<IKubernetes>(), resource, configure));
        var name = resource?.Namespace is { Length: > 0 } ns ? $"{typeof(T).Name} in {ns}" : typeof(T).Name;
        Services.AddSingleton(new InformerRegistration(typeof(T), sp => new Handle<T>(sp.GetRequiredService<ISharedIndexInformer<T>>(), name), (sp, ct) => CatchUpAsync<T>(sp, resource, ct)));
        return this;
    }

    public IKubeConsistencyBuilder AddController<TController>(string name, Func<IServiceProvider, TController> create, Func<TController, CancellationToken, Task> run)
        where TController : class
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(run);
        Services.AddSingleton(new ControllerRegistration(name, (sp, ct) => run(create(sp), ct)));
        return this;
    }

    /// <summary>
    /// The newest resource version among the objects the server lists now; once the store has applied it, the cache holds
    /// every object's latest version as of this moment (events arrive in resource-version order), whoever wrote it.
    /// </summary>
    private static async Task CatchUpAsync<T>(IServiceProvider services, KubernetesResourceOptions? resource, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var client = services.GetRequiredService<IKubernetes>().Resource<T>(resource);
        string? newest = null;
        string? next = null;
        do
        {
            var page = await client.ListAsync(new Client.ListOptions { Limit = 500, Continue = next, LabelSelector = resource?.LabelSelector, FieldSelector = resource?.FieldSelector }, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                if (item.Metadata?.ResourceVersion is { } rv && (newest is null || (ResourceVersion.TryCompare(rv, newest, out var c) && c > 0)))
                {
                    newest = rv;
                }
            }

            next = page.Continue;
        }
        while (next is not null);

        if (newest is not null)
        {
            await services.GetRequiredService<ISharedIndexInformer<T>>().WaitForStoreResourceVersionAsync(newest, cancellationToken).ConfigureAwait(false);
        }
    }

    public IKubeConsistencyBuilder AddController<TController, TSettings>(string name, Func<IServiceProvider, TSettings, TController> create, Func<TController, CancellationToken, Task> run, Func<TSettings, IEnumerable<string>>? validate = null)
        where TController : class
        where TSettings : class
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(create);
        var section = $"{KubeConsistencyOptions.SectionName}:Controllers:{name}";
        Services.AddOptions<TSettings>(name).BindConfiguration(section).ValidateOnStart();
        if (validate is not null)
        {
            Services.AddSingleton<IValidateOptions<TSettings>>(new SettingsValidator<TSettings>(name, section, validate));
        }

        return AddController(name, sp => create(sp, sp.GetRequiredService<IOptionsMonitor<TSettings>>().Get(name)), run);
    }

    private sealed class SettingsValidator<TSettings>(string name, string section, Func<TSettings, IEnumerable<string>> validate) : IValidateOptions<TSettings>
        where TSettings : class
    {
        public ValidateOptionsResult Validate(string? optionsName, TSettings options)
        {
            if (optionsName != name)
            {
                return ValidateOptionsResult.Skip;
            }

            var failures = validate(options).Select(m => $"{section}:{m}").ToList();
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }

    private sealed class Handle<T>(ISharedIndexInformer<T> informer, string name) : IInformerHandle
        where T : class
    {
        public string Name => name;

        public bool HasSynced => informer.HasSynced;

        public ReflectorStatistics Statistics => informer.Statistics;
    }
}
