DROP TABLE audit_log;
DROP TABLE throttles;
DROP TABLE user_groups;
DROP TABLE group_roles;
DROP TABLE groups;
