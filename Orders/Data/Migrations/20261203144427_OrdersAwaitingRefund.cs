using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orders.Data.Migrations
{
    /// <summary>
    /// An order remembers when it was refunded, so that the stuck-orders check finds those awaiting a refund through
    /// an index instead of probing every cancelled order's history. Refunds recorded before keep their time.
    /// </summary>
    public partial class OrdersAwaitingRefund : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "RefundedAt",
                table: "orders",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.Sql("""
                UPDATE orders SET "RefundedAt" = refunds.time
                FROM (SELECT "OrderId", min("Time") AS time FROM order_history
                      WHERE "Type" = 'shop.payments.payment-refunded.v1' GROUP BY "OrderId") AS refunds
                WHERE orders."Id" = refunds."OrderId";
                """);

            migrationBuilder.CreateIndex(
                name: "ix_orders_awaiting_refund",
                table: "orders",
                column: "CreatedAt",
                filter: "\"Status\" = 'Cancelled' AND \"CancellationReason\" = 'out-of-stock' AND \"RefundedAt\" IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_orders_awaiting_refund",
                table: "orders");

            migrationBuilder.DropColumn(
                name: "RefundedAt",
                table: "orders");
        }
    }
}
