-- The worklist of answers owed: received messages owed an answer, the earliest due first, read
-- in index order without sorting and without stepping over the messages answered long ago.
CREATE INDEX messages_owed ON messages (direction, due_on, id) WHERE answered_at IS NULL AND due_on IS NOT NULL;
-- The answers owed in a month, answered or not, for the assessment.
CREATE INDEX messages_due ON messages (direction, due_on) WHERE due_on IS NOT NULL;
