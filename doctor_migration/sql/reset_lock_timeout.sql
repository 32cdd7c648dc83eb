-- Back to the server's lock_timeout after a statement that needed it session-wide.
RESET lock_timeout;
