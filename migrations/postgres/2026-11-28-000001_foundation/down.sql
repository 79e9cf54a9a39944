DROP TABLE audit_log;
DROP TABLE certificate_events;
DROP TABLE certificate_versions;
DROP TABLE certificates;
DROP TABLE persons;
DROP TABLE api_keys;
