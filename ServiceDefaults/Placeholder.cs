namespace ShopChoreography.ServiceDefaults; public static class Placeholder {}
