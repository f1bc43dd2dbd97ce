// The Kafka side of the managed deployment shape: an Azure Event Hubs namespace and one event hub per contract topic.
// Event Hubs does not create topics through the Kafka API, so they come from here, before `azd up`:
//
//   az deployment group create --resource-group <group> --template-file AppHost/infra/eventhubs.bicep \
//     --parameters namespaceName=<globally unique name>
//
// Then give azd the outputs: `kafka` = bootstrapServers, `kafka-sasl-password` = the connection string of the
// authorization rule (az eventhubs namespace authorization-rule keys list ... --query primaryConnectionString).
// docs/deploy-azure.md has the steps. Keep the topics and partitions in step with
// Contracts/Topics.cs (a test checks that they are).

@description('Name of the Event Hubs namespace: globally unique, 6-50 letters, digits and hyphens.')
@minLength(6)
@maxLength(50)
param namespaceName string

@description('Region of the namespace; the resource group\'s by default.')
param location string = resourceGroup().location

@description('Throughput units of the Standard namespace (1 MB/s in and 2 MB/s out each).')
@minValue(1)
@maxValue(40)
param throughputUnits int = 1

@description('The contract\'s topics: one per publishing service and one dead-letter topic per consumer.')
param topics array = [
  'orders.events'
  'payments.events'
  'inventory.events'
  'orders.dlq'
  'payments.dlq'
  'inventory.dlq'
]

@description('Partitions per topic: the contract\'s 12. It bounds how far each service scales out (Standard allows 32).')
@minValue(1)
@maxValue(32)
param partitionCount int = 12

// Standard is the smallest tier with the Kafka endpoint (Basic has none); it allows 10 event hubs and 7 days of retention.
resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: throughputUnits
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    disableLocalAuth: false // the services authenticate with SASL PLAIN and a connection string
  }
}

resource topic 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = [for name in topics: {
  parent: namespace
  name: name
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: 7
  }
}]

// What the services (and their KEDA scale rules) sign in with: send and listen, nothing more. Kafka consumer groups
// are created on first use.
resource services 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: namespace
  name: 'shopchoreography-services'
  properties: {
    rights: [
      'Listen'
      'Send'
    ]
  }
}

@description('The `kafka` connection string: the namespace\'s Kafka endpoint.')
output bootstrapServers string = '${namespace.name}.servicebus.windows.net:9093'

@description('The authorization rule whose primary connection string is the `kafka-sasl-password` parameter.')
output authorizationRuleName string = services.name
