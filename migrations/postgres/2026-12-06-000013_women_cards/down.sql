DROP INDEX certificate_versions_by_validity;
DROP TABLE women_cards;
