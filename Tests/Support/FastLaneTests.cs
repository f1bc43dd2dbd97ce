using ShopChoreography.Tests.Saga;

namespace ShopChoreography.Tests.Support;

/// <summary>
/// The fast lane, <c>dotnet test --filter "Category!=Distributed"</c>, leaves out the test classes marked
/// <c>[Trait("Category", "Distributed")]</c>. It runs without starting the system only while every test class that
/// gets the running system (a fixture that starts the AppHost) carries that mark.
/// </summary>
public sealed class FastLaneTests
{
    [Fact]
    public void Every_test_class_given_the_running_system_is_marked_Distributed()
    {
        var given = TestClasses().Where(GetsTheRunningSystem).ToList();

        Assert.Contains(typeof(SagaTests), given); // the check sees the system where it is given
        Assert.Empty(given.Where(type => !IsMarkedDistributed(type)).Select(type => type.FullName));
    }

    private static IEnumerable<Type> TestClasses() =>
        typeof(FastLaneTests).Assembly.GetTypes().Where(type =>
            type is { IsClass: true, IsAbstract: false } &&
            type.GetMethods().Any(method => method.IsDefined(typeof(FactAttribute), inherit: true)));

    /// <summary>
    /// Through its constructor, or through its collection: xunit starts a collection's fixtures for each class in the
    /// collection, whether or not the class asks for them.
    /// </summary>
    private static bool GetsTheRunningSystem(Type testClass) =>
        testClass.GetConstructors().SelectMany(constructor => constructor.GetParameters()).Any(parameter => StartsTheSystem(parameter.ParameterType)) ||
        CollectionFixtures(testClass).Any(StartsTheSystem);

    private static bool StartsTheSystem(Type fixture) => typeof(DistributedAppFixture).IsAssignableFrom(fixture);

    private static IEnumerable<Type> CollectionFixtures(Type testClass)
    {
        var collection = testClass.GetCustomAttributesData()
            .SingleOrDefault(attribute => attribute.AttributeType == typeof(CollectionAttribute))?.ConstructorArguments[0].Value as string;
        return testClass.Assembly.GetTypes()
            .Where(definition => definition.GetCustomAttributesData().Any(attribute =>
                attribute.AttributeType == typeof(CollectionDefinitionAttribute) && Equals(attribute.ConstructorArguments[0].Value, collection)))
            .SelectMany(definition => definition.GetInterfaces())
            .Where(contract => contract.IsGenericType && contract.GetGenericTypeDefinition() == typeof(ICollectionFixture<>))
            .Select(contract => contract.GenericTypeArguments[0]);
    }

    private static bool IsMarkedDistributed(Type testClass) =>
        testClass.GetCustomAttributesData().Any(attribute =>
            attribute.AttributeType == typeof(TraitAttribute) &&
            attribute.ConstructorArguments.Select(argument => argument.Value as string).SequenceEqual(["Category", "Distributed"]));
}
