DROP TABLE received_statuses;
DROP TABLE peer_sequences;
DROP TABLE messages;
