using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Inventory.Data.Migrations
{
    /// <summary>A reservation's lines move from their own table into a jsonb column of the reservation's row, in their order.</summary>
    public partial class LinesAsJson : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Lines",
                table: "reservations",
                type: "jsonb",
                nullable: false,
                defaultValue: "[]");

            migrationBuilder.Sql("""
                UPDATE reservations SET "Lines" = lines.json
                FROM (SELECT "ReservationOrderId", jsonb_agg(jsonb_build_object('Sku', "Sku", 'Quantity', "Quantity") ORDER BY "Id") AS json
                      FROM reservation_lines GROUP BY "ReservationOrderId") AS lines
                WHERE reservations."OrderId" = lines."ReservationOrderId";
                ALTER TABLE reservations ALTER COLUMN "Lines" DROP DEFAULT;
                """);

            migrationBuilder.DropTable(
                name: "reservation_lines");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "reservation_lines",
                columns: table => new
                {
                    ReservationOrderId = table.Column<Guid>(type: "uuid", nullable: false),
                    Id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Quantity = table.Column<int>(type: "integer", nullable: false),
                    Sku = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_reservation_lines", x => new { x.ReservationOrderId, x.Id });
                    table.ForeignKey(
                        name: "FK_reservation_lines_reservations_ReservationOrderId",
                        column: x => x.ReservationOrderId,
                        principalTable: "reservations",
                        principalColumn: "OrderId",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.Sql("""
                INSERT INTO reservation_lines ("ReservationOrderId", "Sku", "Quantity")
                SELECT reservations."OrderId", line.value ->> 'Sku', (line.value ->> 'Quantity')::integer
                FROM reservations, jsonb_array_elements(reservations."Lines") WITH ORDINALITY AS line(value, position)
                ORDER BY reservations."OrderId", line.position;
                """);

            migrationBuilder.DropColumn(
                name: "Lines",
                table: "reservations");
        }
    }
}
