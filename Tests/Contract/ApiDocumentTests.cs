using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Hosting;
using ShopChoreography.AppHost.Infrastructure;
using ShopChoreography.Contracts;
using ShopChoreography.Orders.Features;
using ShopChoreography.ServiceDefaults.Http;
using ShopChoreography.ServiceDefaults.Validation;
using ShopChoreography.Tests.Support;

namespace ShopChoreography.Tests.Contract;

/// <summary>Each running service's OpenAPI document and reference UI, against the endpoints the service maps.</summary>
[Trait("Category", "Distributed")]
[Collection(DistributedAppCollection.Name)]
public sealed class ApiDocumentTests(DistributedAppFixture fixture)
{
    private static readonly string[] Probes = ["GET /health: 200 503", "GET /alive: 200 503"];

    private static readonly string[] MessagingOperations =
    [
        "GET /operations/dead-letters: 200 400 503",
        "POST /operations/dead-letters/replay: 200 400 503",
        "GET /operations/consumption: 200 400 503",
        "POST /operations/consumption/pause: 200 400 503",
        "POST /operations/consumption/resume: 200 400 503",
    ];

    /// <summary>Every operation of each service, with the status codes it answers.</summary>
    public static TheoryData<string, string[]> ServiceOperations => new()
    {
        {
            "orders",
            [
                "POST /orders: 202 400 413 415 422 503",
                "GET /orders/{id}: 200 404 503",
                "GET /orders/{id}/timeline: 200 404 503",
                "GET /operations/stuck-orders: 200 503",
                "POST /operations/stuck-orders/heal: 200 503",
                "POST /operations/orders/{id}/heal: 202 404 503",
                .. MessagingOperations, .. Probes,
            ]
        },
        {
            "payments",
            [
                "PUT /accounts/{customerId}: 200 400 413 415 503",
                "GET /accounts/{customerId}: 200 404 503",
                "GET /payments/{orderId}: 200 404 503",
                .. MessagingOperations, .. Probes,
            ]
        },
        {
            "inventory",
            [
                "PUT /stock/{sku}: 200 400 413 415 503",
                "GET /stock/{sku}: 200 404 503",
                "GET /reservations/{orderId}: 200 404 503",
                .. MessagingOperations, .. Probes,
            ]
        },
    };

    [Theory]
    [MemberData(nameof(ServiceOperations))]
    public async Task The_document_lists_every_endpoint_with_the_status_codes_it_answers(string service, string[] expected)
    {
        var document = await DocumentAsync(service);

        var operations = OperationsOf(document).Select(operation =>
            $"{operation.Method} {operation.Path}: {string.Join(" ", operation.Body["responses"]!.AsObject().Select(response => response.Key).Order())}");
        Assert.Equal(expected.Order(), operations.Order());
    }

    [Theory]
    [InlineData("orders", "Orders API", new[] { "Orders", "Operations", "Probes" })]
    [InlineData("payments", "Payments API", new[] { "Accounts", "Payments", "Operations", "Probes" })]
    [InlineData("inventory", "Inventory API", new[] { "Stock", "Reservations", "Operations", "Probes" })]
    public async Task The_document_introduces_its_service_and_groups_operations_by_what_a_caller_sees(string service, string title, string[] groups)
    {
        var document = await DocumentAsync(service);

        Assert.Equal(title, document["info"]!["title"]!.GetValue<string>());
        Assert.True(document["info"]!["description"]?.GetValue<string>().Length > 100, document["info"]!.ToJsonString());
        var operations = OperationsOf(document).ToList();
        Assert.All(operations, operation => Assert.Single(operation.Body["tags"]!.AsArray()));
        Assert.Equal(groups.Order(), operations.Select(operation => operation.Body["tags"]![0]!.GetValue<string>()).Distinct().Order());
        Assert.All(operations.Where(operation => operation.Path.StartsWith("/operations", StringComparison.Ordinal)),
            operation => Assert.Equal("Operations", operation.Body["tags"]![0]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("orders")]
    [InlineData("payments")]
    [InlineData("inventory")]
    public async Task Every_error_is_described_as_problem_details(string service)
    {
        var document = await DocumentAsync(service);

        var errors = OperationsOf(document)
            .Where(operation => operation.Path is not (Extensions.HealthEndpointPath or Extensions.AlivenessEndpointPath))
            .SelectMany(operation => operation.Body["responses"]!.AsObject()
                .Where(response => int.Parse(response.Key) >= 400)
                .Select(response => (Where: $"{operation.Method} {operation.Path} {response.Key}", Content: response.Value!["content"]!.AsObject())))
            .ToList();
        Assert.NotEmpty(errors);
        Assert.All(errors, error =>
        {
            var content = Assert.Single(error.Content.ToList());
            Assert.Equal((error.Where, ApiDocuments.ProblemContentType), (error.Where, content.Key));
            var schema = Resolve(document, content.Value!["schema"]);
            Assert.True(schema["properties"]?["title"] is not null && schema["properties"]?["status"] is not null, $"{error.Where}: {schema}");
        });
    }

    [Fact]
    public async Task Placing_an_order_is_described_with_its_limits_its_idempotency_key_and_an_example()
    {
        var document = await DocumentAsync("orders");
        var placeOrder = document["paths"]!["/orders"]!["post"]!;

        var body = placeOrder["requestBody"]!["content"]!["application/json"]!;
        var order = Resolve(document, body["schema"]);
        var line = Resolve(document, order["properties"]!["items"]!["items"]);
        Assert.Equal(["customerId", "items"], order["required"]!.AsArray().Select(name => name!.GetValue<string>()));
        Assert.Equal((1, IdentifierText.MaxLength), Length(order["properties"]!["customerId"]!));
        Assert.Equal((1, OrderLimits.MaxItems), (order["properties"]!["items"]!["minItems"]!.GetValue<int>(), order["properties"]!["items"]!["maxItems"]!.GetValue<int>()));
        Assert.Equal((1, IdentifierText.MaxLength), Length(line["properties"]!["sku"]!));
        Assert.Equal(("integer", "number"), (line["properties"]!["quantity"]!["type"]!.GetValue<string>(), line["properties"]!["unitPrice"]!["type"]!.GetValue<string>()));
        Assert.Equal((1m, OrderLimits.MaxQuantity), Range(line["properties"]!["quantity"]!, "minimum"));
        Assert.Equal((0m, OrderLimits.MaxUnitPrice), Range(line["properties"]!["unitPrice"]!, "exclusiveMinimum"));
        Assert.Equal(AmountAttribute.Step, line["properties"]!["unitPrice"]!["multipleOf"]!.GetValue<decimal>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"customerId": "c-1", "items": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 9.99}]}"""),
            body["example"]), body["example"]?.ToJsonString());

        var idempotencyKey = Assert.Single(placeOrder["parameters"]!.AsArray(), parameter => parameter!["name"]!.GetValue<string>() == PlaceOrder.IdempotencyHeader)!;
        Assert.Equal(("header", false), (idempotencyKey["in"]!.GetValue<string>(), idempotencyKey["required"]?.GetValue<bool>() ?? false));
        Assert.Equal((1, IdempotencyKey.MaxLength), Length(idempotencyKey["schema"]!));
        Assert.Contains(RequestLimits.MaxRequestBodySize.ToString(), placeOrder["responses"]!["413"]!["description"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("payments", "/accounts/{customerId}", "customerId")]
    [InlineData("inventory", "/stock/{sku}", "sku")]
    public async Task An_identifier_in_a_path_is_described_with_its_length(string service, string path, string parameter)
    {
        var document = await DocumentAsync(service);

        var described = Assert.Single(document["paths"]![path]!["put"]!["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == parameter)!;
        Assert.Equal((1, IdentifierText.MaxLength), Length(described["schema"]!));
    }

    [Theory]
    [InlineData("orders")]
    [InlineData("payments")]
    [InlineData("inventory")]
    public async Task The_dashboard_links_each_service_to_its_API_reference_which_answers_with_a_page(string service)
    {
        Assert.True(fixture.App.ResourceNotifications.TryGetCurrentState(service, out var state));
        var link = Assert.Single(state.Snapshot.Urls, url => url.DisplayProperties.DisplayName == ApiReference.DisplayText);
        Assert.Equal(ApiDocuments.ReferencePath, new Uri(link.Url).AbsolutePath);

        using var client = new HttpClient();
        using var response = await client.GetAsync(link.Url);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    private async Task<JsonObject> DocumentAsync(string service)
    {
        using var client = fixture.CreateHttpClient(service);
        using var response = await client.GetAsync(ApiDocuments.DocumentPath);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static IEnumerable<(string Method, string Path, JsonObject Body)> OperationsOf(JsonObject document) =>
        from path in document["paths"]!.AsObject()
        from operation in path.Value!.AsObject()
        where operation.Key is "get" or "put" or "post" or "delete" or "patch"
        select (operation.Key.ToUpperInvariant(), path.Key, operation.Value!.AsObject());

    /// <summary>The schema itself, following a <c>$ref</c> into the document's components.</summary>
    private static JsonObject Resolve(JsonObject document, JsonNode? schema) =>
        schema?["$ref"]?.GetValue<string>() is { } reference
            ? reference["#/".Length..].Split('/').Aggregate((JsonNode)document, (node, name) => node[name]!).AsObject()
            : schema!.AsObject();

    private static (int Min, int Max) Length(JsonNode schema) => (schema["minLength"]!.GetValue<int>(), schema["maxLength"]!.GetValue<int>());

    private static (decimal Min, decimal Max) Range(JsonNode schema, string lowerBound) =>
        (decimal.Parse(schema[lowerBound]!.ToJsonString()), decimal.Parse(schema["maximum"]!.ToJsonString()));
}
