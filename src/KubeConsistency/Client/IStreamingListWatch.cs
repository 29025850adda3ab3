namespace KubeConsistency.Client;

/// <summary>
/// A list-watch that can hand each listed item to a callback as soon as it is decoded, instead of returning the page,
/// so that a reflector can transform every item while the rest of the page is still being read.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
internal interface IStreamingListWatch<T> : IListWatch<T>
{
    /// <summary>Lists one page as <see cref="IListWatch{T}.ListAsync"/> does, calling <paramref name="onItem"/> for every item in order.</summary>
    /// <param name="options">Resource version, paging and selector options.</param>
    /// <param name="onItem">Called for every item, in the server's order, as it is decoded.</param>
    /// <param name="cancellationToken">Cancels the request and the decoding of the body.</param>
    /// <returns>The list's resource version (<c>""</c> when absent), continue token and remaining item count.</returns>
    ValueTask<(string ResourceVersion, string? Continue, long? Remaining)> ListEachAsync(ListOptions options, Action<T> onItem, CancellationToken cancellationToken);
}
