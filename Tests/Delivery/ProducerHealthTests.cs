using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Delivery;

[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class ProducerHealthTests(DistributedAppFixture fixture)
{
    [Fact]
    public async Task A_fatal_producer_error_fails_the_liveness_check_so_the_process_is_restarted()
    {
        var topic = fixture.CreateTopic("producer-fatal");
        await using var service = await ProbeService.CreateAsync(fixture, await ProbeService.CreateDatabaseAsync(fixture), "probe-fatal", topic, consumes: false);
        await service.StartAsync();
        var health = service.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(IsLiveness)).Status);

        TriggerFatalError(service.Services.GetRequiredService<IProducer<string?, byte[]?>>(), ErrorCode.ProducerFenced, "fenced by the test");

        var report = await Poller.UntilAsync(() => health.CheckHealthAsync(IsLiveness), r => r.Status == HealthStatus.Unhealthy,
            "the liveness check to fail");
        Assert.Contains("fenced by the test", report.Entries["kafka-producer"].Description);
    }

    private static bool IsLiveness(HealthCheckRegistration registration) => registration.Tags.Contains("live");

    /// <summary>librdkafka's own test hook (rdkafka.h): raises a fatal error in a client, as a fenced producer gets.</summary>
    private static void TriggerFatalError(IProducer<string?, byte[]?> producer, ErrorCode code, string reason)
    {
        var handle = (SafeHandle)typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic)!
            .GetValue(producer.Handle)!;
        var library = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault())
            .First(path => path is not null && Path.GetFileName(path).EndsWith("librdkafka.so", StringComparison.Ordinal))!;
        var testFatalError = Marshal.GetDelegateForFunctionPointer<TestFatalError>(
            NativeLibrary.GetExport(NativeLibrary.Load(library), "rd_kafka_test_fatal_error"));
        Assert.Equal(0, testFatalError(handle.DangerousGetHandle(), (int)code, reason));
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int TestFatalError(IntPtr client, int code, [MarshalAs(UnmanagedType.LPUTF8Str)] string reason);
}
