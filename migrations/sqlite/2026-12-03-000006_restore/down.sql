DROP TABLE rejoined_peers;
DROP TABLE restore_state;
