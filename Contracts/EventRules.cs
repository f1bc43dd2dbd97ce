using ShopChoreography.Messaging;

namespace ShopChoreography.Contracts;

/// <summary>
/// What every consumer of the saga's events may rely on: a real order id, identifier text (<see cref="IdentifierText"/>),
/// amounts and quantities within an order's limits (<see cref="OrderLimits"/>), and lines. Each event's
/// <see cref="IIntegrationEvent.RejectIfBroken"/> applies them; the consumer host calls it before any handler, so an
/// event breaking them changes nothing and is dead-lettered by every service consuming it, even one that would not
/// have used the broken part.
/// </summary>
public static class EventRules
{
    public static void RejectIfBroken(OrderCreated order)
    {
        var problems = new List<string>();
        Identifier(problems, order.CustomerId, "customerId");
        Amount(problems, order.Total, "total", OrderLimits.MaxTotal);
        var linesAreValid = Lines(problems, order.Items, (line, path) =>
        {
            Line(problems, line.Sku, line.Quantity, path);
            Amount(problems, line.UnitPrice, $"{path}.unitPrice", OrderLimits.MaxUnitPrice);
        });
        if (linesAreValid && order.Items.Sum(line => line.Quantity * line.UnitPrice) != order.Total)
        {
            problems.Add("total is not the sum of the lines.");
        }

        Reject(nameof(OrderCreated), order.OrderId, problems);
    }

    public static void RejectIfBroken(PaymentSucceeded payment)
    {
        var problems = new List<string>();
        Identifier(problems, payment.CustomerId, "customerId");
        Amount(problems, payment.Amount, "amount", OrderLimits.MaxTotal);
        ReservedLines(problems, payment.Items);
        Reject(nameof(PaymentSucceeded), payment.OrderId, problems);
    }

    public static void RejectIfBroken(PaymentFailed payment)
    {
        var problems = new List<string>();
        Identifier(problems, payment.CustomerId, "customerId");
        Amount(problems, payment.Amount, "amount", OrderLimits.MaxTotal);
        Identifier(problems, payment.Reason, "reason");
        Reject(nameof(PaymentFailed), payment.OrderId, problems);
    }

    public static void RejectIfBroken(PaymentRefunded refund)
    {
        var problems = new List<string>();
        Identifier(problems, refund.CustomerId, "customerId");
        Amount(problems, refund.Amount, "amount", OrderLimits.MaxTotal);
        Reject(nameof(PaymentRefunded), refund.OrderId, problems);
    }

    public static void RejectIfBroken(InventoryReserved reservation)
    {
        var problems = new List<string>();
        ReservedLines(problems, reservation.Items);
        Reject(nameof(InventoryReserved), reservation.OrderId, problems);
    }

    public static void RejectIfBroken(InventoryReservationFailed reservation)
    {
        var problems = new List<string>();
        Identifier(problems, reservation.Reason, "reason");
        ReservedLines(problems, reservation.Items);
        Reject(nameof(InventoryReservationFailed), reservation.OrderId, problems);
    }

    private static void Reject(string eventName, Guid orderId, List<string> problems)
    {
        if (orderId == Guid.Empty)
        {
            problems.Insert(0, "orderId is empty.");
        }

        if (problems.Count > 0)
        {
            throw new EventRejectedException($"{eventName} of order {orderId} breaks the event rules: {string.Join(" ", problems)}");
        }
    }

    private static void Identifier(List<string> problems, string? text, string field)
    {
        if (IdentifierText.Problem(text, field) is { } problem)
        {
            problems.Add(problem);
        }
    }

    private static void Amount(List<string> problems, decimal amount, string field, decimal max)
    {
        if (amount <= 0 || amount > max || decimal.Round(amount, 2) != amount)
        {
            problems.Add($"{field} must be greater than 0 and at most {max}, with at most 2 decimal places.");
        }
    }

    private static void Line(List<string> problems, string? sku, int quantity, string path)
    {
        Identifier(problems, sku, $"{path}.sku");
        if (quantity is < 1 or > OrderLimits.MaxQuantity)
        {
            problems.Add($"{path}.quantity must be between 1 and {OrderLimits.MaxQuantity}.");
        }
    }

    private static void ReservedLines(List<string> problems, IReadOnlyList<ReservedLine?> lines) =>
        Lines(problems, lines, (line, path) => Line(problems, line.Sku, line.Quantity, path));

    /// <summary>Checks the number of lines and each line; true when all of them are valid.</summary>
    private static bool Lines<TLine>(List<string> problems, IReadOnlyList<TLine?> lines, Action<TLine, string> checkLine) where TLine : class
    {
        var before = problems.Count;
        if (lines.Count is 0 or > OrderLimits.MaxItems)
        {
            problems.Add($"items must hold 1 to {OrderLimits.MaxItems} lines.");
        }

        for (var i = 0; i < lines.Count; i++)
        {
            // The deserializer refuses a null list, but not a null line in it.
            if (lines[i] is { } line)
            {
                checkLine(line, $"items[{i}]");
            }
            else
            {
                problems.Add($"items[{i}] is null.");
            }
        }

        return problems.Count == before;
    }
}
