DROP TABLE upstream_providers;
DROP TABLE federated_identities;
