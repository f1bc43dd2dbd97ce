using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using ShopChoreography.Contracts;
using ShopChoreography.Payments.Data;
using ShopChoreography.ServiceDefaults.Http;
using ShopChoreography.ServiceDefaults.Validation;

namespace ShopChoreography.Payments.Features;

/// <summary>The body of <c>PUT /accounts/{customerId}</c>, as its API document describes it.</summary>
public sealed record SetBalanceBody([property: Amount((double)Accounts.MaxBalance, AllowsZero = true)] decimal Balance);

public sealed record AccountView(string CustomerId, decimal Balance);

public sealed record PaymentView(Guid OrderId, string Status, decimal Amount);

/// <summary><c>PUT</c>/<c>GET /accounts/{customerId}</c> and <c>GET /payments/{orderId}</c>.</summary>
public static class Accounts
{
    public const decimal MaxBalance = 1_000_000_000m;

    public static async Task<Results<Ok<AccountView>, ValidationProblem>> SetBalanceAsync([Identifier] string customerId, HttpRequest request,
        PaymentsDbContext db, CancellationToken cancellationToken)
    {
        var (balance, errors) = await ReadBalanceAsync(request, cancellationToken);
        if (request.RouteValueProblem(nameof(customerId), IdentifierText.Problem) is { } problem)
        {
            errors[nameof(customerId)] = [problem];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // An upsert, so setting a balance never races with an account being created.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO accounts (customer_id, balance) VALUES ({customerId}, {balance})
            ON CONFLICT (customer_id) DO UPDATE SET balance = excluded.balance
            """, cancellationToken);
        return TypedResults.Ok(new AccountView(customerId, balance!.Value));
    }

    public static async Task<Results<Ok<AccountView>, NotFound>> GetAccountAsync(string customerId, PaymentsDbContext db,
        CancellationToken cancellationToken) =>
        await db.Accounts.AsNoTracking().SingleOrDefaultAsync(a => a.CustomerId == customerId, cancellationToken) is { } account
            ? TypedResults.Ok(new AccountView(account.CustomerId, account.Balance))
            : TypedResults.NotFound();

    public static async Task<Results<Ok<PaymentView>, NotFound>> GetPaymentAsync(Guid orderId, PaymentsDbContext db,
        CancellationToken cancellationToken) =>
        await db.Payments.AsNoTracking().SingleOrDefaultAsync(p => p.OrderId == orderId, cancellationToken) is { } payment
            ? TypedResults.Ok(new PaymentView(payment.OrderId, payment.Status.ToString(), payment.Amount))
            : TypedResults.NotFound();

    private static async Task<(decimal? Balance, Dictionary<string, string[]> Errors)> ReadBalanceAsync(
        HttpRequest request, CancellationToken cancellationToken)
    {
        var (document, problem) = await JsonRequestBody.ReadObjectAsync(request, cancellationToken);
        if (document is null)
        {
            return (null, new() { [JsonRequestBody.Field] = [problem!] });
        }

        using (document)
        {
            if (!document.RootElement.TryGetProperty("balance", out var value) || value.ValueKind != JsonValueKind.Number)
            {
                return (null, new() { ["balance"] = ["balance is required and must be a number."] });
            }

            return value.TryGetAmount(out var balance) && RecordRules.Problem<SetBalanceBody>("balance", balance, "balance") is null
                ? (balance, [])
                : (null, new() { ["balance"] = [RecordRules.Describe<SetBalanceBody>("balance", "balance")] });
        }
    }
}
