-- PostgreSQL's record ids come from a sequence and are never reused; nothing to change.
SELECT 1;
