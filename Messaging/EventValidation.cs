using ShopChoreography.ServiceDefaults.Validation;

namespace ShopChoreography.Messaging;

/// <summary>
/// What every consumer of an event may rely on: the limits its record states (validation attributes, and its own rule
/// as <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/>). The consumer host checks them before any
/// handler runs, so an event breaking them changes nothing and is dead-lettered by every service consuming it, even
/// one that would not have used the broken part.
/// </summary>
public static class EventValidation
{
    public static void RejectIfBroken(IIntegrationEvent @event)
    {
        var problems = RecordRules.Problems(@event);
        if (problems.Count > 0)
        {
            throw new EventRejectedException(
                $"{@event.GetType().Name} of {@event.Subject} breaks the event rules: {string.Join(" ", problems.Select(p => p.Problem))}");
        }
    }
}
