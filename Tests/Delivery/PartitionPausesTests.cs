using Confluent.Kafka;
using ShopChoreography.Messaging.Consumers;

namespace ShopChoreography.Tests.Delivery;

public sealed class PartitionPausesTests
{
    private const int MaxInFlight = 10;
    private static readonly TopicPartition Behind = new("topic", 0);
    private static readonly TopicPartition Idle = new("topic", 1);

    [Fact]
    public void Back_pressure_pauses_a_partition_at_the_limit_and_resumes_it_once_caught_up_by_half()
    {
        var pauses = new PartitionPauses(MaxInFlight);

        Assert.Equal(("0", ""), Changes(pauses.Update([(Behind, 10), (Idle, 0)])));
        Assert.Equal(("", ""), Changes(pauses.Update([(Behind, 6), (Idle, 0)])));
        Assert.Equal(("", "0"), Changes(pauses.Update([(Behind, 5), (Idle, 0)])));
    }

    [Fact]
    public void An_operator_pause_holds_every_partition_even_when_back_pressure_eases()
    {
        var pauses = new PartitionPauses(MaxInFlight);
        pauses.Update([(Behind, 10), (Idle, 0)]);

        pauses.ByOperator = true;

        Assert.Equal(("1", ""), Changes(pauses.Update([(Behind, 10), (Idle, 0)])));
        Assert.Equal(("", ""), Changes(pauses.Update([(Behind, 0), (Idle, 0)])));
        Assert.True(pauses.HeldByOperator(Behind));
        Assert.Equal((2, 0), (pauses.Paused, pauses.Behind));
    }

    [Fact]
    public void An_operator_resume_leaves_a_partition_that_is_still_behind_paused_until_it_catches_up()
    {
        var pauses = new PartitionPauses(MaxInFlight) { ByOperator = true };
        pauses.Update([(Behind, 10), (Idle, 0)]);

        pauses.ByOperator = false;

        Assert.Equal(("", "1"), Changes(pauses.Update([(Behind, 8), (Idle, 0)])));
        Assert.False(pauses.HeldByOperator(Behind));
        Assert.Equal(("", "0"), Changes(pauses.Update([(Behind, 5), (Idle, 0)])));
    }

    [Fact]
    public void A_partition_that_leaves_is_forgotten_and_says_whether_it_was_paused()
    {
        var pauses = new PartitionPauses(MaxInFlight) { ByOperator = true };
        pauses.Update([(Behind, 10)]);

        Assert.True(pauses.Forget(Behind));
        Assert.False(pauses.Forget(Idle));
        Assert.Equal((0, 0), (pauses.Paused, pauses.Behind));
    }

    /// <summary>The partitions to pause and to resume, as comparable text ("0,1").</summary>
    private static (string Pause, string Resume) Changes((List<TopicPartition> Pause, List<TopicPartition> Resume) changes) =>
        (string.Join(",", changes.Pause.Select(p => p.Partition.Value)), string.Join(",", changes.Resume.Select(p => p.Partition.Value)));
}
