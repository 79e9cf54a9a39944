DROP TABLE corrections;
DROP TABLE holder_codes;
