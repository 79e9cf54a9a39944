DROP INDEX messages_owed;
DROP INDEX messages_due;
