//! DynamoDB and SQS adapters implementing the domain ports.
