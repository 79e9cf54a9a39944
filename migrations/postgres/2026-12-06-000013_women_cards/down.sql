DROP TABLE women_cards;
