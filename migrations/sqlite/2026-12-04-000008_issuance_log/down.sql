DROP TABLE issuance_log;
