using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using ShopChoreography.Orders.Data;
using ShopChoreography.ServiceDefaults.Messaging.Outbox;

#nullable disable

namespace Orders.Data.Migrations
{
    /// <summary>The outbox wakes its dispatcher in process after a commit (<c>OutboxSignal</c>): no NOTIFY in the writers' transactions.</summary>
    [DbContext(typeof(OrdersDbContext))]
    [Migration("20261203170000_OutboxWakesInProcess")]
    public partial class OutboxWakesInProcess : Migration
    {
        protected override void Up(MigrationBuilder migrationBuilder) => migrationBuilder.DropOutboxWakeUpTrigger();

        protected override void Down(MigrationBuilder migrationBuilder) => migrationBuilder.AddOutboxWakeUpTrigger();
    }
}
