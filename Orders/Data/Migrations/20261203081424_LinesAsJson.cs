using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Orders.Data.Migrations
{
    /// <summary>An order's lines move from their own table into a jsonb column of the order's row, in their order.</summary>
    public partial class LinesAsJson : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Lines",
                table: "orders",
                type: "jsonb",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.Sql("""
                UPDATE orders SET "Lines" = lines.json
                FROM (SELECT "OrderId", jsonb_agg(jsonb_build_object('Sku', "Sku", 'Quantity', "Quantity", 'UnitPrice', "UnitPrice") ORDER BY "Id") AS json
                      FROM order_lines GROUP BY "OrderId") AS lines
                WHERE orders."Id" = lines."OrderId";
                ALTER TABLE orders ALTER COLUMN "Lines" DROP DEFAULT;
                """);

            migrationBuilder.DropTable(
                name: "order_lines");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "order_lines",
                columns: table => new
                {
                    OrderId = table.Column<Guid>(type: "uuid", nullable: false),
                    Id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Quantity = table.Column<int>(type: "integer", nullable: false),
                    Sku = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    UnitPrice = table.Column<decimal>(type: "numeric(18,2)", precision: 18, scale: 2, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_order_lines", x => new { x.OrderId, x.Id });
                    table.ForeignKey(
                        name: "FK_order_lines_orders_OrderId",
                        column: x => x.OrderId,
                        principalTable: "orders",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.Sql("""
                INSERT INTO order_lines ("OrderId", "Sku", "Quantity", "UnitPrice")
                SELECT orders."Id", line.value ->> 'Sku', (line.value ->> 'Quantity')::integer, (line.value ->> 'UnitPrice')::numeric
                FROM orders, jsonb_array_elements(orders."Lines") WITH ORDINALITY AS line(value, position)
                ORDER BY orders."Id", line.position;
                """);

            migrationBuilder.DropColumn(
                name: "Lines",
                table: "orders");
        }
    }
}
