namespace ShopChoreography.Tests.Support;

/// <summary>Checks a condition until it holds or a deadline passes: the way tests wait, instead of sleeping.</summary>
public static class Poller
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Calls <paramref name="probe"/> until it returns a value that <paramref name="satisfied"/> accepts.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> satisfied, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        T last;
        Exception? lastError = null;
        while (true)
        {
            try
            {
                last = await probe();
                if (satisfied(last))
                {
                    return last;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || ex.InnerException is TimeoutException)
            {
                // A probe that timed out (HttpClient reports its Timeout as a cancellation caused by a TimeoutException)
                // has not seen the condition yet; it is tried again like any other failed probe.
                last = default!;
                lastError = ex;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(
                    $"Gave up waiting after {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s for {what}. Last value: {last}.", lastError);
            }

            await Task.Delay(Interval);
        }
    }
}
