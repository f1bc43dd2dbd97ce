using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using ShopChoreography.Payments.Data;
using ShopChoreography.ServiceDefaults.Messaging.Outbox;

#nullable disable

namespace Payments.Data.Migrations
{
    /// <summary>The outbox wakes its dispatcher from a trigger instead of a NOTIFY round trip per transaction.</summary>
    [DbContext(typeof(PaymentsDbContext))]
    [Migration("20261128180000_OutboxWakeUpTrigger")]
    public partial class OutboxWakeUpTrigger : Migration
    {
        protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.AddOutboxWakeUpTrigger();

        protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.DropOutboxWakeUpTrigger();
    }
}
